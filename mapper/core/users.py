"""Administering people's accounts: find users, change their role or organisation,
deactivate, reactivate and unlock them. Each change is audited with the admin who made it
(None from the command line).

A deactivated user's sessions and API tokens stop working at once: `http.auth` checks
`active` on every request, and deactivation also revokes the tokens, so that reactivating an
account does not bring old tokens back to life.
"""

from typing import NamedTuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from mapper.core import audit
from mapper.errors import Conflict, Invalid, NotFound
from mapper.store import db
from mapper.store.models import ROLES, ApiToken, Organisation, User, utcnow

PER_PAGE = 50

STATES = ("active", "inactive", "locked")


class UserPage(NamedTuple):
    """One page of the users: the users, how many match in all, the page and page count."""

    users: list
    total: int
    page: int
    page_count: int


def locked_until(user, now=None):
    """Return when a locked account unlocks (aware, UTC), or None if it is not locked."""
    until = user.locked_until
    if until is None:
        return None
    if until.tzinfo is None:  # SQLite gives back naive datetimes; they were stored in UTC
        until = until.replace(tzinfo=utcnow().tzinfo)
    return until if until > (now or utcnow()) else None


def _matching(q="", role="", organisation=None, state=""):
    """Return the WHERE clauses of the users' search and filters."""
    clauses = []
    if q:
        like = f"%{q.strip().lower()}%"
        orgs = select(Organisation.id).where(func.lower(Organisation.name).like(like))
        clauses.append(or_(func.lower(User.email).like(like), User.organisation_id.in_(orgs)))
    if role:
        clauses.append(User.role == role)
    if organisation:
        clauses.append(User.organisation_id == organisation)
    if state == "active":
        clauses.append(User.active.is_(True))
    elif state == "inactive":
        clauses.append(User.active.is_(False))
    elif state == "locked":
        clauses.append(User.locked_until > utcnow())
    return clauses


def find_users(session, q="", role="", organisation=None, state="", page=1, per_page=PER_PAGE):
    """Return a page of users by email, searched by email or organisation name and filtered."""
    if role and role not in ROLES:
        raise Invalid("Unknown role.", {"role": "must be one of: " + ", ".join(ROLES)})
    if state and state not in STATES:
        raise Invalid("Unknown state.", {"state": "must be one of: " + ", ".join(STATES)})
    clauses = _matching(q, role, organisation, state)
    total = session.scalar(select(func.count(User.id)).where(*clauses))
    page_count = max(1, -(-total // per_page))
    page = min(max(1, page), page_count)
    users = session.scalars(
        select(User)
        .where(*clauses)
        .options(selectinload(User.organisation))
        .order_by(User.email)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return UserPage(list(users), total, page, page_count)


def get_user(session, user_id):
    """Return the user with this id; NotFound when there is none."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"There is no user {user_id}.")
    return user


def _other_active_admins(session, user):
    """How many active admins there are besides `user`."""
    return session.scalar(
        select(func.count(User.id)).where(
            User.role == "admin", User.active.is_(True), User.id != user.id
        )
    )


def _keep_an_admin(session, user, field):
    """Refuse to leave the service without an active admin (nobody could manage it)."""
    if user.role == "admin" and user.active and _other_active_admins(session, user) == 0:
        raise Conflict(
            "This is the only active administrator: make someone else an administrator first.",
            {field: "is the only active administrator"},
        )


def change_user(session, admin, user, role=None, organisation_id=None):
    """Change a user's role and/or organisation; return the changes made (audited)."""
    errors = {}
    if role is not None and role not in ROLES:
        errors["role"] = "must be one of: " + ", ".join(ROLES)
    organisation = None
    if organisation_id is not None:
        organisation = session.get(Organisation, organisation_id)
        if organisation is None:
            errors["organisation"] = "is not an organisation"
    if errors:
        raise Invalid("The change is not valid: " + ", ".join(sorted(errors)) + ".", errors)
    changes = {}
    if role is not None and role != user.role:
        if role != "admin":
            _keep_an_admin(session, user, "role")
        changes["role"] = {"from": user.role, "to": role}
    if organisation is not None and organisation.id != user.organisation_id:
        changes["organisation"] = {"from": user.organisation.name, "to": organisation.name}
    if not changes:
        return changes
    with db.transaction(session):
        if "role" in changes:
            user.role = role
        if "organisation" in changes:
            user.organisation = organisation
        audit.record(session, "change", user, user=admin, changes=changes)
    return changes


def deactivate_user(session, admin, user, reason=None):
    """Deactivate a user: their sessions end and their API tokens are revoked, at once."""
    if not user.active:
        return False
    _keep_an_admin(session, user, "user")
    with db.transaction(session):
        user.active = False
        user.session_epoch += 1  # the sessions made until now stay refused after a reactivation
        revoked = 0
        for token in session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        ):
            token.revoked_at = utcnow()
            revoked += 1
        changes = {"active": {"from": True, "to": False}, "tokens_revoked": revoked}
        audit.record(session, "deactivate", user, user=admin, changes=changes, reason=reason)
    return True


def reactivate_user(session, admin, user):
    """Let a deactivated user sign in again (their old API tokens stay revoked)."""
    if user.active:
        return False
    with db.transaction(session):
        user.active = True
        changes = {"active": {"from": False, "to": True}}
        audit.record(session, "reactivate", user, user=admin, changes=changes)
    return True


def unlock_user(session, admin, user):
    """Clear a user's sign-in lockout and count of failed sign-ins."""
    was_locked = locked_until(user) is not None
    if not was_locked and not user.failed_sign_ins:
        return False
    with db.transaction(session):
        changes = {"locked": was_locked, "failed_sign_ins": user.failed_sign_ins}
        user.locked_until, user.failed_sign_ins = None, 0
        audit.record(session, "unlock", user, user=admin, changes=changes)
    return True
