"""Invitations: who may invite whom, single use, expiry, only hashes stored, one winner."""

import threading

import pytest
from sqlalchemy import select

from mapper.core import accounts, audit, invitations, links
from mapper.errors import Conflict, Forbidden, Invalid, NotFound
from mapper.store.mail import AccessLink, OutboxMail
from mapper.store.models import AuditEvent, Organisation, User
from tests.factories import four_users

NEW_PASSWORD = "a brand new long password"  # noqa: S105


@pytest.fixture
def people(session):
    return four_users(session)


def _org(session, name):
    return session.scalar(select(Organisation).where(Organisation.name == name))


def test_an_admin_invites_and_only_the_hash_of_the_link_is_stored(session, people):
    link, token = invitations.invite(
        session, people["admin"], " New@Example.org ", "editor", "Small LIO"
    )
    assert len(token) >= 43  # 32 random bytes, base64: 256 bits
    stored = session.scalar(select(AccessLink))
    assert stored.token_hash == links.token_hash(token) and token not in stored.token_hash
    assert stored.email == "new@example.org" and stored.role == "editor"
    [message] = session.scalars(select(OutboxMail))
    assert message.to_address == "new@example.org" and token in message.body_text
    [event] = [e for e in audit.history(session, link) if e.action == "invite"]
    assert event.user_id == people["admin"].id
    assert event.changes == {"role": "editor", "organisation": "Small LIO"}


def test_accepting_creates_the_user_who_can_then_sign_in(session, people):
    _, token = invitations.invite(session, people["admin"], "new@example.org", "admin", "Council")
    user = invitations.accept(session, token, NEW_PASSWORD)
    assert (user.role, user.organisation.name) == ("admin", "Council")
    assert accounts.authenticate(session, "new@example.org", NEW_PASSWORD).id == user.id
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"invite", "accept", "create"} <= actions


def test_a_link_works_once(session, people):
    _, token = invitations.invite(session, people["admin"], "new@example.org", "editor", "Council")
    invitations.accept(session, token, NEW_PASSWORD)
    with pytest.raises(Conflict, match="already been used"):
        invitations.accept(session, token, NEW_PASSWORD)


def test_an_expired_link_is_refused(session, people):
    _, token = invitations.invite(
        session, people["admin"], "new@example.org", "editor", "Council", valid_days=0
    )
    with pytest.raises(Conflict, match="expired"):
        invitations.accept(session, token, NEW_PASSWORD)


def test_a_newer_invitation_replaces_the_older_link(session, people):
    _, old = invitations.invite(session, people["admin"], "new@example.org", "editor", "Council")
    invitations.invite(session, people["admin"], "new@example.org", "editor", "Council")
    with pytest.raises(Conflict, match="replaced"):
        invitations.check(session, old)


@pytest.mark.parametrize("token", ["", "nonsense", "x" * 43])
def test_an_unknown_link_is_not_found(session, people, token):
    with pytest.raises(NotFound):
        invitations.check(session, token)


def test_a_short_password_is_refused_and_the_link_still_works(session, people):
    _, token = invitations.invite(session, people["admin"], "new@example.org", "editor", "Council")
    with pytest.raises(Invalid) as refused:
        invitations.accept(session, token, "short")
    assert "password" in refused.value.fields
    assert invitations.check(session, token)


@pytest.mark.parametrize(
    ("inviter", "role", "organisation", "allowed"),
    [
        ("trusted", "editor", "Big CVS", True),
        ("trusted", "admin", "Big CVS", False),
        ("trusted", "editor", "Small LIO", False),
        ("editor", "editor", "Small LIO", False),  # an untrusted organisation's editor
        ("admin", "editor", "Other LIO", True),
    ],
)
def test_editors_of_a_trusted_organisation_invite_editors_into_it_only(
    session, people, inviter, role, organisation, allowed
):
    if allowed:
        invitations.invite(session, people[inviter], "new@example.org", role, organisation)
    else:
        with pytest.raises(Forbidden):
            invitations.invite(session, people[inviter], "new@example.org", role, organisation)
        assert session.scalar(select(AccessLink)) is None


@pytest.mark.parametrize(
    ("email", "role", "organisation", "field"),
    [
        ("not-an-email", "editor", "Council", "email"),
        ("new@example.org", "owner", "Council", "role"),
        ("new@example.org", "editor", "No Such Org", "organisation"),
    ],
)
def test_a_bad_invitation_names_the_field(session, people, email, role, organisation, field):
    with pytest.raises(Invalid) as refused:
        invitations.invite(session, people["admin"], email, role, organisation)
    assert field in refused.value.fields


def test_an_existing_user_cannot_be_invited(session, people):
    with pytest.raises(Conflict):
        invitations.invite(session, people["admin"], "ed@lio.example", "editor", "Council")


def test_two_acceptances_at_once_one_wins_and_the_other_is_told(app, session, people):
    _, token = invitations.invite(session, people["admin"], "new@example.org", "editor", "Council")
    factory = app.extensions["mapper.db"].Session
    barrier, outcomes = threading.Barrier(2), []

    def accept():
        own = factory()
        try:
            barrier.wait()
            invitations.accept(own, token, NEW_PASSWORD)
            outcomes.append("accepted")
        except Conflict as error:
            outcomes.append(error.message)
        finally:
            own.close()

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["This invitation link has already been used.", "accepted"]
    session.expire_all()
    assert len(session.scalars(select(User).where(User.email == "new@example.org")).all()) == 1


def test_resending_sends_a_fresh_link_and_the_old_one_stops(session, people):
    link, old = invitations.invite(session, people["admin"], "new@example.org", "editor", "Council")
    _, new = invitations.resend(session, people["admin"], link.id)
    assert new != old
    with pytest.raises(Conflict):
        invitations.check(session, old)
    assert invitations.check(session, new).email == "new@example.org"
    assert [i.email for i in invitations.pending(session)] == ["new@example.org"]
