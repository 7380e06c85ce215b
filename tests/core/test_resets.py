"""Password resets: single use, expiring, hash only; a reset ends sessions and lockouts."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from mapper.core import accounts, resets
from mapper.errors import Conflict, Invalid
from mapper.store.mail import AccessLink, OutboxMail
from mapper.store.models import AuditEvent, utcnow
from tests.factories import make_user
from tests.mail import LINK

NEW_PASSWORD = "a brand new long password"  # noqa: S105


def _token(session):
    [message] = session.scalars(select(OutboxMail).order_by(OutboxMail.id.desc()).limit(1))
    return LINK.search(message.body_text).group(1).rsplit("/", 1)[1]


def test_a_known_address_gets_a_link_and_only_its_hash_is_kept(session):
    user = make_user(session, "ed@example.org")
    resets.request_reset(session, "ED@example.org ")
    token = _token(session)
    stored = session.scalar(select(AccessLink))
    assert stored.user_id == user.id and stored.token_hash == resets.links.token_hash(token)
    assert token not in stored.token_hash


@pytest.mark.parametrize("email", ["nobody@example.org", "gone@example.org"])
def test_an_unknown_or_deactivated_address_gets_nothing_and_nothing_is_stored(session, email):
    gone = make_user(session, "gone@example.org")
    gone.active = False
    session.commit()
    assert resets.request_reset(session, email) is None
    assert session.scalar(select(OutboxMail)) is None
    assert session.scalar(select(AccessLink)) is None


def test_a_reset_sets_the_password_clears_the_lock_and_works_once(session):
    user = make_user(session, "ed@example.org")
    user.failed_sign_ins, user.locked_until = 3, utcnow() + timedelta(minutes=10)
    session.commit()
    old_hash = user.password_hash
    resets.request_reset(session, "ed@example.org")
    token = _token(session)
    resets.reset_password(session, token, NEW_PASSWORD)
    session.refresh(user)
    assert user.password_hash != old_hash  # every session, tied to the hash, has ended
    assert (user.failed_sign_ins, user.locked_until) == (0, None)
    assert accounts.authenticate(session, "ed@example.org", NEW_PASSWORD).id == user.id
    with pytest.raises(Conflict, match="already been used"):
        resets.reset_password(session, token, "another long password")
    assert "reset-password" in set(session.scalars(select(AuditEvent.action)))


def test_an_expired_link_is_refused(session):
    make_user(session, "ed@example.org")
    resets.request_reset(session, "ed@example.org", valid_minutes=0)
    with pytest.raises(Conflict, match="expired"):
        resets.reset_password(session, _token(session), NEW_PASSWORD)


def test_asking_again_within_a_minute_sends_nothing(session):
    make_user(session, "ed@example.org")
    resets.request_reset(session, "ed@example.org")
    resets.request_reset(session, "ed@example.org")
    assert len(session.scalars(select(OutboxMail)).all()) == 1


def test_a_newer_request_replaces_the_older_link(session):
    make_user(session, "ed@example.org")
    resets.request_reset(session, "ed@example.org")
    first = _token(session)
    session.execute(update(AccessLink).values(created_at=utcnow() - timedelta(minutes=2)))
    session.commit()
    resets.request_reset(session, "ed@example.org")
    with pytest.raises(Conflict, match="replaced"):
        resets.check(session, first)
    assert resets.check(session, _token(session))


def test_a_short_password_is_refused_and_the_link_kept(session):
    make_user(session, "ed@example.org")
    resets.request_reset(session, "ed@example.org")
    with pytest.raises(Invalid):
        resets.reset_password(session, _token(session), "short")
    assert resets.check(session, _token(session))


def test_a_locked_account_is_told_by_mail_and_no_password_is_looked_at_meanwhile(session):
    user = make_user(session, "ed@example.org")
    for _ in range(4):
        assert accounts.authenticate(session, "ed@example.org", "a wrong guess", 5, 10) is None
    assert session.scalar(select(OutboxMail)) is None
    assert accounts.authenticate(session, "ed@example.org", "a wrong guess", 5, 10) is None
    [message] = session.scalars(select(OutboxMail)).all()
    session.refresh(user)
    assert message.to_address == "ed@example.org" and user.locked_until is not None
    assert f"locked until {user.locked_until:%H:%M} UTC" in message.body_text
    assert "Forgot your password?" in message.body_text
    # while locked the right password is not looked at: the answer tells a guesser nothing
    assert accounts.authenticate(session, "ed@example.org", "correct horse battery staple") is None
    assert len(session.scalars(select(OutboxMail)).all()) == 1
