"""Single-use, expiring links (invitations, password resets): made, found and spent.

A link's token has 256 bits of randomness and is shown once, in the mail; only its SHA-256
hash is stored. It is found by its hash and compared in constant time, and it is spent by
one UPDATE that only one of two simultaneous uses can win.
"""

import hashlib
import hmac
import secrets
from datetime import UTC

from sqlalchemy import select, update

from mapper.errors import Conflict, NotFound
from mapper.store.mail import AccessLink
from mapper.store.models import utcnow

TOKEN_BYTES = 32  # 256 bits


def aware(moment):
    """SQLite gives back naive datetimes; they were stored in UTC."""
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


def token_hash(token):
    """Return the SHA-256 hex digest kept in place of a token."""
    return hashlib.sha256(str(token).encode()).hexdigest()


def new_link(purpose, expires_at, **values):
    """Return (an unsaved AccessLink, its token)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = AccessLink(purpose=purpose, token_hash=token_hash(token), expires_at=expires_at)
    for key, value in values.items():
        setattr(link, key, value)
    return link, token


def find(session, purpose, token, what):
    """Return the usable link of `purpose` for this token; NotFound or Conflict saying why not.

    `what` names the link in messages ("invitation", "password reset link").
    """
    digest = token_hash(token)
    link = session.scalar(select(AccessLink).where(AccessLink.token_hash == digest))
    if (
        link is None
        or link.purpose != purpose
        or not hmac.compare_digest(link.token_hash.encode(), digest.encode())
    ):
        raise NotFound(f"This {what} is not valid. Check that you copied all of it.")
    if link.used_at is not None:
        raise Conflict(f"This {what} has already been used.")
    if link.revoked_at is not None:
        raise Conflict(f"This {what} has been replaced by a newer one. Use the latest mail.")
    if aware(link.expires_at) <= utcnow():
        raise Conflict(f"This {what} has expired.")
    return link


def spend(session, link, what):
    """Mark the link used, in the current transaction; Conflict if another use was first."""
    spent = session.execute(
        update(AccessLink)
        .where(AccessLink.id == link.id, AccessLink.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        raise Conflict(f"This {what} has already been used.")


def revoke_unused(session, purpose, email, now=None):
    """Revoke the unused links of `purpose` sent to `email` (a newer one replaces them)."""
    session.execute(
        update(AccessLink)
        .where(AccessLink.purpose == purpose, AccessLink.email == email)
        .where(AccessLink.used_at.is_(None), AccessLink.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
