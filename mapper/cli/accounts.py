"""Commands for users and API tokens: create-user, create-token, list-tokens, revoke-token."""

import sys

import click
from flask.cli import with_appcontext

from mapper.core import accounts
from mapper.errors import MapperError
from mapper.store import db
from mapper.store.models import ROLES

# The command-line argument each field of a MapperError comes from.
ARGUMENTS = {"email": "EMAIL", "role": "--role", "organisation": "--organisation"}


def fail(error):
    """Turn a MapperError into a CLI message naming the arguments."""
    details = "".join(
        f"\n  {ARGUMENTS.get(field, field)}: {reason}" for field, reason in error.fields.items()
    )
    return click.ClickException(error.message + details)


def _read_password():
    """Ask twice on a terminal; otherwise read the first line of stdin."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True, help="admin or editor")
@click.option("--organisation", required=True, help="created if it does not exist")
@click.option("--trusted", is_flag=True, help="the organisation's groups need no approval")
@click.option(
    "--new-organisation",
    is_flag=True,
    help="make the organisation even though its name is close to an existing one",
)
@with_appcontext
def create_user(email, role, organisation, trusted, new_organisation):
    """Create a user; the password comes from a prompt, or from stdin when piped.

    A new organisation whose name is confusingly close to an existing one ("Eastmere CVS"
    beside "Eastmere CVS (fictional)") is refused, listing the close names, unless
    --new-organisation says it is meant.
    """
    password = _read_password()
    try:
        user = accounts.create_user(
            db.get_session(),
            email,
            password,
            role,
            organisation,
            trusted,
            new_organisation=new_organisation,
        )
    except MapperError as error:
        raise fail(error) from None
    trust = "trusted" if user.organisation.trusted else "not trusted: new groups need approval"
    click.echo(f"Created {role} {user.email} of {user.organisation.name} ({trust})", err=True)


@click.command("create-token")
@click.argument("email")
@click.option("--label", help="what the token is for")
@with_appcontext
def create_token(email, label):
    """Make an API token for a user and print it as the last line (it is not shown again)."""
    session = db.get_session()
    try:
        row, token = accounts.create_token(session, accounts.find_user(session, email), label)
    except MapperError as error:
        raise fail(error) from None
    click.echo(f"Token {row.id} for {email}; keep it secret, it is shown only once:", err=True)
    click.echo(token)


@click.command("list-tokens")
@click.argument("email")
@with_appcontext
def list_tokens(email):
    """List a user's API tokens (ids, labels and use; never the tokens)."""
    session = db.get_session()
    try:
        tokens = accounts.user_tokens(session, accounts.find_user(session, email))
    except MapperError as error:
        raise fail(error) from None
    for t in tokens:
        state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "active"
        used = f"last used {t.last_used_at:%Y-%m-%d}" if t.last_used_at else "never used"
        click.echo(f"{t.id}\t{t.created_at:%Y-%m-%d}\t{state}\t{used}\t{t.label or ''}")


@click.command("revoke-token")
@click.argument("email")
@click.option("--id", "token_id", type=int, help="revoke only this token (default: all)")
@with_appcontext
def revoke_token(email, token_id):
    """Revoke a user's API tokens: all of them, or the one given by --id."""
    session = db.get_session()
    try:
        count = accounts.revoke_tokens(session, accounts.find_user(session, email), token_id)
    except MapperError as error:
        raise fail(error) from None
    if token_id is not None and count == 0:
        raise click.ClickException(f"{email} has no active token {token_id}.")
    click.echo(f"Revoked {count} token(s) of {email}.", err=True)
