"""Administering accounts: search and pages, role and organisation, deactivation, unlocking."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from mapper.core import accounts, audit, users
from mapper.errors import Conflict, Invalid
from mapper.store.models import ApiToken, AuditEvent, utcnow
from tests.factories import make_token, make_user


@pytest.fixture
def people(session):
    return {
        "admin": make_user(session, "admin@council.example", "admin", "Eastmere Council", True),
        "ed": make_user(session, "ed@lio.example", organisation="Small LIO"),
        "tess": make_user(session, "tess@cvs.example", organisation="Eastmere CVS (fictional)"),
    }


def test_users_are_searched_by_email_or_organisation_and_paged(session, people):
    for i in range(7):
        make_user(session, f"volunteer{i}@cvs.example", organisation="Eastmere CVS (fictional)")
    assert users.find_users(session).total == 10
    by_org = users.find_users(session, q="eastmere cvs")
    assert by_org.total == 8 and all(
        u.organisation.name.startswith("Eastmere CVS") for u in by_org.users
    )
    assert [u.email for u in users.find_users(session, q="ED@LIO").users] == ["ed@lio.example"]
    first = users.find_users(session, per_page=4)
    last = users.find_users(session, page=3, per_page=4)
    assert (first.page_count, len(first.users), len(last.users)) == (3, 4, 2)
    assert [u.email for u in first.users] == sorted(u.email for u in first.users)
    assert users.find_users(session, page=99, per_page=4).page == 3
    assert [u.email for u in users.find_users(session, role="admin").users] == [
        "admin@council.example"
    ]
    org = people["ed"].organisation_id
    assert users.find_users(session, organisation=org).total == 1


@pytest.mark.parametrize(("name", "value"), [("role", "owner"), ("state", "asleep")])
def test_a_bad_filter_names_itself(session, name, value):
    with pytest.raises(Invalid) as error:
        users.find_users(session, **{name: value})
    assert name in error.value.fields


def test_role_and_organisation_change_and_are_audited(session, people):
    admin, ed = people["admin"], people["ed"]
    changes = users.change_user(
        session, admin, ed, role="admin", organisation_id=people["tess"].organisation_id
    )
    assert changes == {
        "role": {"from": "editor", "to": "admin"},
        "organisation": {"from": "Small LIO", "to": "Eastmere CVS (fictional)"},
    }
    session.expire_all()
    assert ed.role == "admin" and ed.organisation.name == "Eastmere CVS (fictional)"
    [event] = [e for e in audit.history(session, ed) if e.action == "change"]
    assert event.user_id == admin.id and event.changes == changes
    assert users.change_user(session, admin, ed, role="admin") == {}  # nothing to change


@pytest.mark.parametrize(
    ("values", "field"), [({"role": "owner"}, "role"), ({"organisation_id": 999}, "organisation")]
)
def test_a_bad_change_names_the_field_and_changes_nothing(session, people, values, field):
    with pytest.raises(Invalid) as error:
        users.change_user(session, people["admin"], people["ed"], **values)
    assert field in error.value.fields
    session.expire_all()
    assert people["ed"].role == "editor" and people["ed"].organisation.name == "Small LIO"


def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(session, people):
    admin = people["admin"]
    with pytest.raises(Conflict):
        users.change_user(session, admin, admin, role="editor")
    with pytest.raises(Conflict):
        users.deactivate_user(session, admin, admin)
    other = make_user(session, "second@council.example", "admin", "Eastmere Council")
    assert users.deactivate_user(session, other, admin)


def test_deactivating_ends_tokens_at_once_and_reactivating_keeps_them_revoked(
    app, session, people, client
):
    ed = people["ed"]
    headers = make_token(session, ed)
    token = headers["Authorization"].removeprefix("Bearer ")
    assert accounts.token_user(session, token).id == ed.id
    assert users.deactivate_user(session, people["admin"], ed, reason="left the LIO")
    assert accounts.token_user(session, token) is None
    assert client.get("/api/v1/groups?status=pending", headers=headers).status_code == 401
    assert session.scalar(select(ApiToken.revoked_at)) is not None
    assert not users.deactivate_user(session, people["admin"], ed)  # already
    assert users.reactivate_user(session, people["admin"], ed)
    assert ed.active and accounts.token_user(session, token) is None
    actions = [e.action for e in audit.history(session, ed)]
    assert actions == ["deactivate", "reactivate"]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "deactivate"))
    assert event.reason == "left the LIO" and event.changes["tokens_revoked"] == 1


def test_unlocking_clears_the_lockout_and_the_failures(session, people):
    ed = people["ed"]
    ed.locked_until, ed.failed_sign_ins = utcnow() + timedelta(minutes=10), 3
    session.commit()
    assert users.locked_until(ed) is not None
    assert users.find_users(session, state="locked").users == [ed]
    assert users.unlock_user(session, people["admin"], ed)
    session.expire_all()
    assert ed.locked_until is None and ed.failed_sign_ins == 0
    assert users.find_users(session, state="locked").total == 0
    assert not users.unlock_user(session, people["admin"], ed)
    assert [e.action for e in audit.history(session, ed)] == ["unlock"]
