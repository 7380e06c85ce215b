"""Password resets: a single-use, expiring link by email; using it sets a new password,
which ends every session of the user (they are tied to the password hash) and clears a
lockout. Asking gives nothing away: the same answer whether or not the address exists."""

from datetime import timedelta

from sqlalchemy import select

from mapper.config import DEFAULTS
from mapper.core import accounts, audit, links, mail
from mapper.errors import Conflict, Invalid
from mapper.store import db
from mapper.store.mail import AccessLink
from mapper.store.models import User, utcnow

PURPOSE = "reset"
WHAT = "password reset link"
RESET_PATH = "/reset-password/{token}"  # the page of web/passwords.py that uses one
RESEND_AFTER = timedelta(minutes=1)  # asking again sooner sends nothing: no mail-bombing


def request_reset(
    session,
    email,
    base_url=DEFAULTS["BASE_URL"],
    valid_minutes=DEFAULTS["RESET_MINUTES"],
):
    """Mail a reset link to the active user with this address, if there is one; return None.

    The caller learns nothing of whether the address is known, and the work done is much
    the same either way (the mail itself is sent after the answer).
    """
    email = accounts.normalise_email(email or "")
    user = session.scalar(select(User).where(User.email == email))
    link, token = links.new_link(PURPOSE, utcnow() + timedelta(minutes=valid_minutes))
    if user is None or not user.active or _asked_just_now(session, email):
        session.rollback()
        return None
    user_id = user.id
    session.rollback()
    with db.write_transaction(session):
        links.revoke_unused(session, PURPOSE, email)
        link.email, link.user_id = email, user_id
        session.add(link)
        session.flush()
        audit.record(session, "request-reset", link, user=user)
        url = base_url.rstrip("/") + RESET_PATH.format(token=token)
        mail.queue(
            session,
            email,
            "Reset your Community Mapper password",
            [
                "Someone (we hope you) asked to reset the password of your Community Mapper "
                "account.",
                f"Use the link below to choose a new password. It works once, for "
                f"{valid_minutes} minutes, and signs you out everywhere.",
                "If you did not ask, you can ignore this message: your password stays as it is.",
            ],
            links=[("Choose a new password", url)],
        )
    return None


def _asked_just_now(session, email):
    """Whether a link was mailed to this address within RESEND_AFTER."""
    recent = select(AccessLink.id).where(
        AccessLink.purpose == PURPOSE,
        AccessLink.email == email,
        AccessLink.created_at > utcnow() - RESEND_AFTER,
    )
    return session.scalar(recent.limit(1)) is not None


def check(session, token):
    """Return the usable reset link of a token (NotFound or Conflict saying why not)."""
    return links.find(session, PURPOSE, token, WHAT)


def reset_password(session, token, password):
    """Set a new password with a reset link; return the user.

    Every session of the user ends (they are tied to the password hash), a lockout is
    cleared and the link cannot be used again.
    """
    if len(password or "") < accounts.MINIMUM_PASSWORD_LENGTH:
        raise Invalid(
            "Choose a longer password.",
            {"password": f"must be at least {accounts.MINIMUM_PASSWORD_LENGTH} characters"},
        )
    password_hash = accounts.hash_password(password)  # slow on purpose: before the lock
    session.rollback()
    with db.write_transaction(session):
        link = check(session, token)
        links.spend(session, link, WHAT)
        user = session.get(User, link.user_id)
        if user is None or not user.active:
            raise Conflict("This account has been deactivated. Ask an administrator.")
        user.password_hash = password_hash
        user.failed_sign_ins, user.locked_until = 0, None
        links.revoke_unused(session, PURPOSE, user.email)
        audit.record(session, "reset-password", user, user=user, changes={"link_id": link.id})
    return user
