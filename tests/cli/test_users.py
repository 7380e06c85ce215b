"""The user administration commands: list-users, deactivate-user, reactivate-user,
unlock-user, and create-user refusing an organisation confusingly close to a stored one."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from mapper.core import accounts, audit
from mapper.store.models import Organisation, User, utcnow
from tests.factories import PASSWORD, make_token, make_user
from tests.forms import post_form
from tests.mail import link_in, path_of


def invoke(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


@pytest.fixture
def people(session):
    return {
        "admin": make_user(session, "admin@council.example", "admin", "Eastmere Council", True),
        "ed": make_user(session, "ed@lio.example", organisation="Small LIO"),
        "tess": make_user(session, "tess@cvs.example", organisation="Eastmere CVS (fictional)"),
    }


def test_list_users_prints_one_tab_separated_line_each_and_filters(app, session, people):
    result = invoke(app, "list-users")
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [line[1] for line in lines] == [
        "admin@council.example",
        "ed@lio.example",
        "tess@cvs.example",
    ]
    assert lines[1][2:] == ["editor", "Small LIO", "active"]
    assert "3 user(s)" in result.stderr
    assert invoke(app, "list-users", "--search", "CVS").stdout.count("\n") == 1
    assert invoke(app, "list-users", "--role", "admin").stdout.startswith(
        f"{people['admin'].id}\tadmin@council.example"
    )
    small = invoke(app, "list-users", "--organisation", "Small LIO").stdout
    assert small.count("\n") == 1 and "ed@lio.example" in small


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--organisation", "Eastmere CVS"], "--organisation"),
        (["--role", "owner"], "--role"),
        (["--state", "asleep"], "--state"),
    ],
)
def test_list_users_names_a_bad_argument(app, people, args, named):
    result = invoke(app, "list-users", *args)
    assert result.exit_code == 2 and named in result.output
    if named == "--organisation":
        assert "Did you mean: Eastmere CVS (fictional)?" in result.output


def test_deactivate_reactivate_and_unlock_a_user(app, client, session, people):
    ed = people["ed"]
    headers = make_token(session, ed)
    result = invoke(app, "deactivate-user", "ED@lio.example", "--reason", "left")
    assert result.exit_code == 0 and "Deactivated ed@lio.example" in result.output
    assert client.get("/api/v1/groups?status=pending", headers=headers).status_code == 401
    assert "deactivated" in invoke(app, "list-users", "--state", "inactive").stdout
    assert "already deactivated" in invoke(app, "deactivate-user", ed.email).output
    assert invoke(app, "reactivate-user", ed.email).exit_code == 0
    session.expire_all()
    assert ed.active
    ed.locked_until = utcnow() + timedelta(minutes=15)
    session.commit()
    assert "locked until" in invoke(app, "list-users").stdout
    assert "Unlocked ed@lio.example" in invoke(app, "unlock-user", ed.email).output
    session.expire_all()
    assert ed.locked_until is None
    events = audit.history(session, ed)
    assert [e.action for e in events] == ["deactivate", "reactivate", "unlock"]
    assert {e.user_id for e in events} == {None}  # done by a command


@pytest.mark.parametrize("command", ["deactivate-user", "reactivate-user", "unlock-user"])
def test_an_unknown_email_is_named(app, people, command):
    result = invoke(app, command, "nobody@example.org")
    assert result.exit_code == 2
    assert "EMAIL" in result.output and "nobody@example.org" in result.output


def test_the_only_admin_cannot_be_deactivated(app, session, people):
    result = invoke(app, "deactivate-user", "admin@council.example")
    assert result.exit_code == 1 and "only active administrator" in result.output
    session.expire_all()
    assert people["admin"].active


def create(app, organisation, *flags):
    args = ["create-user", "new@cvs.example", "--role", "editor", "--organisation", organisation]
    return invoke(app, *args, *flags, input=PASSWORD + "\n")


def test_create_user_refuses_a_confusingly_close_organisation_and_lists_the_close_ones(
    app, session, people
):
    result = create(app, "Eastmere CVS")
    assert result.exit_code == 1
    assert "--organisation" in result.output and "'Eastmere CVS (fictional)'" in result.output
    assert session.scalar(select(User).where(User.email == "new@cvs.example")) is None
    assert "Eastmere CVS" not in set(session.scalars(select(Organisation.name)))
    result = create(app, "Eastmere CVS (fictional)")  # the existing one is fine
    assert result.exit_code == 0, result.output
    user = accounts.find_user(session, "new@cvs.example")
    assert user.organisation_id == people["tess"].organisation_id


def test_create_user_makes_a_close_organisation_when_told(app, session, people):
    result = create(app, "Eastmere CVS", "--new-organisation")
    assert result.exit_code == 0, result.output
    assert "Eastmere CVS" in set(session.scalars(select(Organisation.name)))


def test_create_user_makes_an_organisation_unlike_any_other_without_asking(app, session, people):
    assert create(app, "Westmoor Food Bank").exit_code == 0


def test_mapper_help_lists_the_user_commands(app):
    output = invoke(app, "--help").output
    for command in ("list-users", "deactivate-user", "reactivate-user", "unlock-user"):
        assert f"  {command} " in output


def test_invite_mails_a_link_that_sets_the_password(mail_app, client, session, people):
    app, inbox = mail_app
    result = invoke(
        app, "invite", "New@LIO.example", "--role", "editor", "--organisation", "Small LIO"
    )
    assert result.exit_code == 0, result.output
    assert "Invited new@lio.example" in result.stderr
    # the tests' app context outlives the command, so send what it queued as cron would
    assert invoke(app, "send-mail").exit_code == 0
    [message] = inbox.wait_for(1)
    assert message["To"] == "new@lio.example"
    url = path_of(link_in(message))
    form = {"password": "a long new password", "confirm_password": "a long new password"}
    assert post_form(client, url, form).status_code == 302
    session.expire_all()
    user = session.scalar(select(User).where(User.email == "new@lio.example"))
    assert user.role == "editor" and user.organisation.name == "Small LIO"
    assert any(e.action == "invite" for e in audit.find_events(session).events)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["ed@lio.example", "--role", "editor", "--organisation", "Small LIO"], "EMAIL"),
        (["x@lio.example", "--role", "editor", "--organisation", "Eastmere CVS"], "--organisation"),
        (["not an address", "--role", "editor", "--organisation", "Small LIO"], "EMAIL"),
        (["x@lio.example", "--role", "owner", "--organisation", "Small LIO"], "--role"),
    ],
)
def test_invite_names_a_bad_argument_and_sends_nothing(mail_app, session, people, args, named):
    app, inbox = mail_app
    result = invoke(app, "invite", *args)
    assert result.exit_code != 0 and named in result.output
    assert invoke(app, "send-mail").exit_code == 0
    assert inbox.wait_for(1, timeout=0.5) == []
