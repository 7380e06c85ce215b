"""Commands for administering users: invite, list-users, deactivate-user, reactivate-user,
unlock-user.

The same use cases as the admins' pages (`core.users`), audited as done by no user (a command).
"""

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from mapper.cli.accounts import fail
from mapper.core import accounts, invitations, organisations, users
from mapper.errors import MapperError
from mapper.store import db
from mapper.store.models import ROLES, Organisation


def _organisation_id(session, name):
    """The id of the organisation called `name`; an error naming --organisation otherwise."""
    found = session.scalar(select(Organisation.id).where(Organisation.name == name.strip()))
    if found is None:
        close = organisations.close_names(session, name)
        hint = f" Did you mean: {'; '.join(close)}?" if close else ""
        raise click.BadParameter(
            f"there is no organisation called '{name}'.{hint}", param_hint="--organisation"
        )
    return found


def _state(user):
    if not user.active:
        return "deactivated"
    until = users.locked_until(user)
    return f"locked until {until:%Y-%m-%d %H:%M} UTC" if until else "active"


@click.command("list-users")
@click.option("--search", "q", default="", help="part of an email or organisation name")
@click.option("--role", type=click.Choice(ROLES), help="only admins, or only editors")
@click.option("--organisation", help="only the users of this organisation (its exact name)")
@click.option("--state", type=click.Choice(users.STATES), help="active, inactive or locked")
@with_appcontext
def list_users(q, role, organisation, state):
    """List users: id, email, role, organisation and state, tab-separated, by email."""
    session = db.get_session()
    org_id = _organisation_id(session, organisation) if organisation else None
    page, total = 1, 0
    while True:
        found = users.find_users(
            session, q, role or "", org_id, state or "", page=page, per_page=500
        )
        for user in found.users:
            row = [str(user.id), user.email, user.role, user.organisation.name, _state(user)]
            click.echo("\t".join(row))
        total = found.total
        if found.page >= found.page_count:
            break
        page += 1
    click.echo(f"{total} user(s)", err=True)


def _user(session, email):
    try:
        return accounts.find_user(session, email)
    except MapperError as error:
        raise click.BadParameter(error.message, param_hint="EMAIL") from None


@click.command("deactivate-user")
@click.argument("email")
@click.option("--reason", help="why, for the audit")
@with_appcontext
def deactivate_user(email, reason):
    """Deactivate a user: their sessions end and their API tokens are revoked at once."""
    session = db.get_session()
    user = _user(session, email)
    try:
        changed = users.deactivate_user(session, None, user, reason=reason)
    except MapperError as error:
        raise fail(error) from None
    click.echo(
        f"Deactivated {user.email}." if changed else f"{user.email} was already deactivated.",
        err=True,
    )


@click.command("reactivate-user")
@click.argument("email")
@with_appcontext
def reactivate_user(email):
    """Let a deactivated user sign in again (their old API tokens stay revoked)."""
    session = db.get_session()
    user = _user(session, email)
    changed = users.reactivate_user(session, None, user)
    click.echo(
        f"Reactivated {user.email}." if changed else f"{user.email} was already active.",
        err=True,
    )


@click.command("unlock-user")
@click.argument("email")
@with_appcontext
def unlock_user(email):
    """Clear a user's sign-in lockout after repeated failed sign-ins."""
    session = db.get_session()
    user = _user(session, email)
    changed = users.unlock_user(session, None, user)
    click.echo(f"Unlocked {user.email}." if changed else f"{user.email} was not locked.", err=True)


@click.command("invite")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--organisation", required=True, help="the organisation's exact name")
@with_appcontext
def invite(email, role, organisation):
    """Invite a person by email: they get a single-use link to choose a password."""
    session = db.get_session()
    org_id = _organisation_id(session, organisation)
    config = current_app.config
    try:
        invitations.invite(
            session, None, email, role, org_id, config["BASE_URL"], config["INVITATION_DAYS"]
        )
    except MapperError as error:
        raise fail(error) from None
    address, days = accounts.normalise_email(email), config["INVITATION_DAYS"]
    click.echo(f"Invited {address}: the link works for {days} days.", err=True)
