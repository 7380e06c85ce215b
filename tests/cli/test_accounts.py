"""The account commands: create-user, create-token, list-tokens, revoke-token."""

import pytest
from sqlalchemy import select

from mapper.store.models import ApiToken, Organisation, User
from tests.factories import PASSWORD, two_wards


def invoke(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def create_editor(app):
    args = ["create-user", "ed@lio.example", "--role", "editor", "--organisation", "LIO"]
    result = invoke(app, *args, input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output


def test_create_user_reads_the_password_from_stdin_and_creates_the_organisation(app, session):
    result = invoke(
        app,
        "create-user",
        "Ed@LIO.example",
        "--role",
        "editor",
        "--organisation",
        "Small LIO",
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "not trusted" in result.output
    user = session.scalar(select(User))
    assert (user.email, user.role, user.organisation.name) == (
        "ed@lio.example",
        "editor",
        "Small LIO",
    )
    assert user.password_hash.startswith("scrypt:")
    result = invoke(
        app,
        "create-user",
        "boss@lio.example",
        "--role",
        "admin",
        "--organisation",
        "Small LIO",
        "--trusted",
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert session.scalars(select(Organisation.trusted)).all() == [True]


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["nobody", "--role", "editor", "--organisation", "X"], PASSWORD, "email"),
        (["a@b.example", "--role", "editor", "--organisation", "X"], "short", "password"),
        (["a@b.example", "--role", "owner", "--organisation", "X"], PASSWORD, "owner"),
        (["a@b.example", "--role", "editor"], PASSWORD, "--organisation"),
    ],
)
def test_create_user_explains_what_is_wrong(app, session, args, password, message):
    result = invoke(app, "create-user", *args, input=password + "\n")
    assert result.exit_code != 0
    assert message in result.output
    assert session.scalar(select(User)) is None


def test_tokens_are_printed_once_listed_without_themselves_and_revoked(app, client, session):
    two_wards(session)
    create_editor(app)
    result = invoke(app, "create-token", "ed@lio.example", "--label", "directory sync")
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("cm_") and len(token) > 40
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/groups?status=pending", headers=headers).status_code == 200

    listing = invoke(app, "list-tokens", "ed@lio.example").output
    assert "directory sync" in listing and "active" in listing and token not in listing
    token_id = session.scalar(select(ApiToken.id))
    result = invoke(app, "revoke-token", "ed@lio.example", "--id", str(token_id))
    assert result.exit_code == 0 and "Revoked 1" in result.output
    assert client.get("/api/v1/groups?status=pending", headers=headers).status_code == 401
    assert invoke(app, "revoke-token", "ed@lio.example", "--id", str(token_id)).exit_code != 0


def test_revoke_token_without_an_id_revokes_every_token_of_the_user(app, session):
    create_editor(app)
    for _ in range(2):
        invoke(app, "create-token", "ed@lio.example")
    result = invoke(app, "revoke-token", "ed@lio.example")
    assert "Revoked 2" in result.output
    assert all(t.revoked_at for t in session.scalars(select(ApiToken)))


def test_token_commands_name_an_unknown_user(app, session):
    for command in ("create-token", "list-tokens", "revoke-token"):
        result = invoke(app, command, "ghost@lio.example")
        assert result.exit_code != 0 and "ghost@lio.example" in result.output


def test_create_token_prints_only_the_token_on_stdout(app, session):
    create_editor(app)
    result = invoke(app, "create-token", "ed@lio.example")
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("cm_")
    assert "shown only once" in result.stderr


def test_mapper_help_lists_the_account_commands(app):
    output = invoke(app, "--help").output
    for command in ("create-user", "create-token", "list-tokens", "revoke-token"):
        assert f"  {command} " in output
