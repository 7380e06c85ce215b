"""Invitations: an admin (or an editor of a trusted organisation) invites a person by email;
the single-use, expiring link in the mail lets them set a password and become a user."""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mapper.config import DEFAULTS
from mapper.core import accounts, audit, links, mail
from mapper.errors import Conflict, Forbidden, Invalid, NotFound
from mapper.store import db
from mapper.store.mail import AccessLink
from mapper.store.models import ROLES, Organisation, User, utcnow

PURPOSE = "invitation"
WHAT = "invitation link"
ACCEPT_PATH = "/invitations/{token}"  # the page of web/invitations.py that accepts one


def _organisation(session, organisation):
    """Accept an Organisation, its id or its exact name."""
    if isinstance(organisation, Organisation):
        return organisation
    if isinstance(organisation, int) or str(organisation or "").strip().isdigit():
        found = session.get(Organisation, int(organisation))
    else:
        name = str(organisation or "").strip()
        found = session.scalar(select(Organisation).where(Organisation.name == name))
    if found is None:
        raise Invalid("Choose an organisation.", {"organisation": "is not a known organisation"})
    return found


def may_invite(user):
    """Return whether the user may invite at all: admins, editors of trusted organisations."""
    return user is not None and (
        user.role == "admin" or (user.role == "editor" and user.organisation.trusted)
    )


def _check_allowed(by, role, organisation):
    if by is None or by.role == "admin":  # None: the server's operator, on the command line
        return
    if not may_invite(by):
        raise Forbidden("Only administrators and editors of trusted organisations can invite.")
    if role != "editor" or organisation.id != by.organisation_id:
        raise Forbidden("Editors can invite editors into their own organisation only.")


def invite(
    session,
    by,
    email,
    role,
    organisation,
    base_url=DEFAULTS["BASE_URL"],
    valid_days=DEFAULTS["INVITATION_DAYS"],
):
    """Invite a person by email with a role in an organisation; return (AccessLink, token).

    `organisation` is an Organisation, its id or its name; `by` the inviting user (None on
    the command line). Mails the link; an earlier unused invitation to the address stops
    working. The invitation is audited (who, when, which role and organisation).
    """
    email = accounts.normalise_email(email or "")
    errors = {}
    if not accounts.EMAIL_FORMAT.match(email) or len(email) > 254:
        errors["email"] = "is not an email address"
    if role not in ROLES:
        errors["role"] = "must be one of: " + ", ".join(ROLES)
    if errors:
        raise Invalid("The invitation is not valid: " + ", ".join(sorted(errors)) + ".", errors)
    organisation = _organisation(session, organisation)
    _check_allowed(by, role, organisation)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"There is already a user with the email {email}.", {"email": "is taken"})
    by_id, by_email = (by.id, by.email) if by else (None, None)
    session.rollback()  # end the reading; nothing was written
    with db.write_transaction(session):
        now = utcnow()
        links.revoke_unused(session, PURPOSE, email, now)
        link, token = links.new_link(
            PURPOSE,
            now + timedelta(days=valid_days),
            email=email,
            role=role,
            organisation_id=organisation.id,
            created_by_id=by_id,
        )
        session.add(link)
        session.flush()
        changes = {"role": role, "organisation": organisation.name}
        audit.record(session, "invite", link, user=by, changes=changes)
        _mail(session, link, token, organisation, by_email, base_url, valid_days)
    return link, token


def _mail(session, link, token, organisation, by_email, base_url, valid_days):
    url = base_url.rstrip("/") + ACCEPT_PATH.format(token=token)
    who = f"{by_email} has" if by_email else "You have been"
    invited = "invited you" if by_email else "invited"
    mail.queue(
        session,
        link.email,
        "You are invited to Community Mapper",
        [
            f"{who} {invited} to keep {organisation.name}'s community groups up to date on "
            f"Community Mapper, as an {link.role}.",
            f"Use the link below to choose your password. It works once, for {valid_days} days.",
            "If you did not expect this invitation, you can ignore this message.",
        ],
        links=[("Accept the invitation", url)],
    )


def resend(
    session, by, link_id, base_url=DEFAULTS["BASE_URL"], valid_days=DEFAULTS["INVITATION_DAYS"]
):
    """Send a fresh link for an unused invitation (the old link stops working)."""
    link = session.get(AccessLink, link_id)
    if link is None or link.purpose != PURPOSE:
        raise NotFound(f"There is no invitation {link_id}.")
    if link.used_at is not None:
        raise Conflict("This invitation has already been accepted.")
    return invite(session, by, link.email, link.role, link.organisation_id, base_url, valid_days)


def pending(session, organisation_id=None):
    """Return the invitations not yet accepted, revoked or expired, newest first."""
    query = (
        select(AccessLink)
        .where(AccessLink.purpose == PURPOSE, AccessLink.used_at.is_(None))
        .where(AccessLink.revoked_at.is_(None), AccessLink.expires_at > utcnow())
        .order_by(AccessLink.created_at.desc(), AccessLink.id.desc())
    )
    if organisation_id is not None:
        query = query.where(AccessLink.organisation_id == organisation_id)
    return list(session.scalars(query))


def check(session, token):
    """Return the usable invitation of a token (NotFound or Conflict saying why not)."""
    return links.find(session, PURPOSE, token, WHAT)


def accept(session, token, password):
    """Accept an invitation: create its user with this password; return the user.

    Of two simultaneous acceptances of one link, one creates the user and the other gets a
    Conflict saying the invitation has already been used.
    """
    if len(password or "") < accounts.MINIMUM_PASSWORD_LENGTH:
        raise Invalid(
            "Choose a longer password.",
            {"password": f"must be at least {accounts.MINIMUM_PASSWORD_LENGTH} characters"},
        )
    password_hash = accounts.hash_password(password)  # slow on purpose: before the lock
    session.rollback()
    try:
        with db.write_transaction(session):
            link = check(session, token)
            links.spend(session, link, WHAT)
            if session.scalar(select(User.id).where(User.email == link.email)) is not None:
                raise Conflict("There is already an account for this email address. Sign in.")
            user = User(
                email=link.email,
                password_hash=password_hash,
                role=link.role,
                organisation_id=link.organisation_id,
            )
            session.add(user)
            session.flush()
            link.user_id = user.id
            audit.record(
                session,
                "accept",
                link,
                user=user,
                changes={"user_id": user.id, "role": user.role},
            )
            audit.record(
                session,
                "create",
                user,
                user=user,
                changes={"role": user.role, "organisation_id": user.organisation_id},
            )
    except IntegrityError:
        raise Conflict(f"This {WHAT} has already been used.") from None
    return user
