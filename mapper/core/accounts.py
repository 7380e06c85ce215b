"""Users, organisations, passwords and API tokens: the accounts use cases, without HTTP."""

import functools
import hashlib
import re
import secrets
from datetime import UTC, timedelta

from sqlalchemy import or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from mapper.config import DEFAULTS
from mapper.core import audit, mail, organisations
from mapper.errors import Conflict, Invalid, NotFound
from mapper.store import db
from mapper.store.models import ROLES, ApiToken, Organisation, User, utcnow

PASSWORD_METHOD = "scrypt"  # noqa: S105 - a method name; werkzeug's default: memory-hard, salted


MINIMUM_PASSWORD_LENGTH = 12


TOKEN_PREFIX = "cm_"  # noqa: S105 - makes leaked tokens easy to spot


EMAIL_FORMAT = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def hash_password(password):
    """Return a salted scrypt hash of a password."""
    return generate_password_hash(password, method=PASSWORD_METHOD)


@functools.cache
def _decoy_hash():
    """A hash to check unknown emails against, so that they take as long as known ones."""
    return hash_password(secrets.token_hex(16))


def normalise_email(email):
    """Return an email address as stored: trimmed and in lower case."""
    return str(email).strip().lower()


def _aware(moment):
    """SQLite gives back naive datetimes; they were stored in UTC."""
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


# Users and tokens -------------------------------------------------------------------------


def create_user(session, email, password, role, organisation, trusted=False, new_organisation=True):
    """Create a user in an organisation (created if needed); `trusted` marks the organisation.

    Without `new_organisation`, an organisation that does not exist yet is refused when its
    name is confusingly close to a stored one (the error lists the close names).
    """
    email = normalise_email(email)
    errors = {}
    if not EMAIL_FORMAT.match(email) or len(email) > 254:
        errors["email"] = "is not an email address"
    if role not in ROLES:
        errors["role"] = "must be one of: " + ", ".join(ROLES)
    if len(password or "") < MINIMUM_PASSWORD_LENGTH:
        errors["password"] = f"must be at least {MINIMUM_PASSWORD_LENGTH} characters"
    if not (organisation or "").strip():
        errors["organisation"] = "is required"
    if errors:
        raise Invalid("The user is not valid: " + ", ".join(sorted(errors)) + ".", errors)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"There is already a user with the email {email}.", {"email": "is taken"})
    exists = select(Organisation.id).where(Organisation.name == organisation.strip())
    if not new_organisation and session.scalar(exists) is None:
        organisations.check_new_name(session, organisation)
    with db.transaction(session):
        org = get_or_create_organisation(session, organisation.strip())
        if trusted:
            org.trusted = True
        user = User(email=email, password_hash=hash_password(password), role=role)
        user.organisation = org
        session.add(user)
        session.flush()
        changes = {"role": role, "organisation": org.name, "trusted": org.trusted}
        audit.record(session, "create", user, changes=changes)
    return user


def find_user(session, email):
    """Return the user with this email; NotFound when there is none."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"There is no user with the email {normalise_email(email)}.")
    return user


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session, user, label=None, by=None):
    """Make a new API token for the user; return (ApiToken, the token). Only its hash is kept.

    `by` is who made it, for the audit (None for a command)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.transaction(session):
        row = ApiToken(user_id=user.id, token_hash=_token_hash(token), label=label)
        session.add(row)
        session.flush()
        changes = {"user_id": user.id, "label": label}
        audit.record(session, "create", row, user=by, changes=changes)
    return row, token


def token_user(session, token):
    """Return the active user of an API token, or None for an unknown or revoked token.

    Notes when the token was used, at most hourly, so that reads stay reads.
    """
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    if row.last_used_at is None or _aware(row.last_used_at) < utcnow() - timedelta(hours=1):
        with db.transaction(session):
            row.last_used_at = utcnow()
    return row.user


def user_tokens(session, user):
    """Return every API token of a user, revoked ones included."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)))


def revoke_tokens(session, user, token_id=None, by=None):
    """Revoke one of the user's tokens, or all of them; return how many were revoked.

    `by` is who revoked them, for the audit (None for a command)."""
    query = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if token_id is not None:
        query = query.where(ApiToken.id == token_id)
    with db.transaction(session):
        tokens = list(session.scalars(query))
        for token in tokens:
            token.revoked_at = utcnow()
            audit.record(session, "revoke", token, user=by, changes={"user_id": user.id})
    return len(tokens)


# Signing in --------------------------------------------------------------------------------


def authenticate(
    session,
    email,
    password,
    max_failures=DEFAULTS["SIGN_IN_MAX_FAILURES"],
    lock_minutes=DEFAULTS["SIGN_IN_LOCK_MINUTES"],
):
    """Return the user with this email and password, or None; lock after repeated failures.

    Each attempt is counted before its password is checked, by one atomic UPDATE committed at
    once, so that parallel guesses cannot check more than `max_failures` passwords between
    two locks: the attempts counted past the limit are refused without a look. While locked no
    password is looked at, the right one included (telling its owner "locked" would tell a
    guesser the password was right): the owner is told by mail, when the lock begins, until
    when it lasts and that a password reset unlocks it at once.
    """
    found = session.execute(
        select(User.id, User.password_hash, User.active).where(User.email == normalise_email(email))
    ).one_or_none()
    session.rollback()  # end the read: the count below is a write transaction of its own
    if found is None:
        check_password_hash(_decoy_hash(), password)
        return None
    user_id, password_hash, active = found
    now = utcnow()
    with db.write_transaction(session):
        attempt = session.execute(
            update(User)
            .where(User.id == user_id)
            .where(or_(User.locked_until.is_(None), User.locked_until <= now))
            .values(failed_sign_ins=User.failed_sign_ins + 1)
            .returning(User.failed_sign_ins),
            execution_options={"synchronize_session": False},
        ).scalar_one_or_none()
    if attempt is None or attempt > max_failures:
        check_password_hash(_decoy_hash(), password)  # locked: take as long, tell nothing
        return None
    right = check_password_hash(password_hash, password) and active
    with db.write_transaction(session):
        if right:
            values = {"failed_sign_ins": 0, "locked_until": None}
        elif attempt == max_failures:
            values = {"failed_sign_ins": 0, "locked_until": now + timedelta(minutes=lock_minutes)}
            _tell_locked(session, email, values["locked_until"], max_failures)
        else:
            values = None
        if values:
            session.execute(
                update(User).where(User.id == user_id).values(**values),
                execution_options={"synchronize_session": False},
            )
    return session.get(User, user_id) if right else None


def _tell_locked(session, email, until, failures):
    """Queue the mail that tells an account's owner it is locked, and until when."""
    mail.queue(
        session,
        normalise_email(email),
        "Your Community Mapper account is locked for a while",
        [
            f"There were {failures} failed sign-ins to your "
            f"account in a row, so it is locked until {until:%H:%M} UTC on {until:%-d %B %Y}.",
            "To sign in before then, choose \u201cForgot your password?\u201d on the sign-in "
            "page: setting a new password unlocks the account at once.",
            "If the failed sign-ins were not you, someone may be guessing your password.",
        ],
    )


def end_sessions(session, user):
    """Sign the user out everywhere: every session cookie made until now is refused."""
    with db.write_transaction(session):
        session.execute(
            update(User).where(User.id == user.id).values(session_epoch=User.session_epoch + 1),
            execution_options={"synchronize_session": False},
        )
    session.refresh(user)


def get_or_create_organisation(session, name, **values):
    """Return the organisation called `name`, creating it if needed."""
    organisation = session.scalar(select(Organisation).where(Organisation.name == name))
    if organisation is None:
        organisation = Organisation(name=name, **values)
        session.add(organisation)
    return organisation


def emails_of(session, user_ids):
    """Return {user id: email} of users, for the pages only administrators see."""
    query = select(User.id, User.email).where(User.id.in_({i for i in user_ids if i}))
    return dict(session.execute(query).all())
