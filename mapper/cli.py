"""The `mapper` commands: parse arguments, call importers/registry/analysis, print."""

import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, run_command, with_appcontext

from mapper import auth, config, db, importers, registry
from mapper.errors import MapperError
from mapper.models import ROLES, CommunityGroup, Coordinator, Service

DEMO_ORGANISATION = "Eastmere CVS (fictional)"


def _create_app():
    from mapper import create_app

    # Commands other than `run` may use the placeholder SECRET_KEY; `run` checks it itself.
    return create_app({"CHECK_SECRET_KEY": False})


@click.command("run", params=run_command.params, help=run_command.help)
@click.pass_context
def run(ctx, **kwargs):
    app = ctx.ensure_object(ScriptInfo).load_app()
    try:
        config.check(app.config)
    except config.ConfigError as error:
        raise click.ClickException(str(error)) from None
    ctx.invoke(run_command, **kwargs)


def main():
    cli = FlaskGroup(create_app=_create_app, add_default_commands=False)
    from flask.cli import routes_command, shell_command

    cli.add_command(run)
    cli.add_command(shell_command)
    cli.add_command(routes_command)
    cli.main(prog_name="mapper")


@click.command("init-db")
@with_appcontext
def init_db():
    """Bring the database to the latest schema (safe to run again)."""
    db.upgrade_schema(db.get_db().engine)
    click.echo(f"Database is at the latest schema: {_safe_url()}", err=True)


@click.command("demo")
@with_appcontext
def demo():
    """Load the fictional demo borough, Eastmere (safe to run again)."""
    db.upgrade_schema(db.get_db().engine)
    data = importers.read_demo()
    session = db.get_session()
    with db.transaction(session):
        wards = registry.save_wards(session, data["wards"])
        session.flush()
        lio = registry.get_or_create_organisation(
            session, DEMO_ORGANISATION, kind="lio", trusted=True
        )
        groups = registry.save_located(session, CommunityGroup, data["groups"], organisation=lio)
        services = registry.save_located(session, Service, data["services"])
        coordinators = registry.save_located(session, Coordinator, data["coordinators"])
        postcodes = registry.save_postcodes(session, data["postcodes"])
    for label, (added, updated) in [
        ("wards", wards),
        ("groups", groups),
        ("services", services),
        ("coordinators", coordinators),
    ]:
        click.echo(f"{label}: {added} added, {updated} updated", err=True)
    click.echo(f"postcodes: {postcodes} loaded", err=True)


def _safe_url():
    return db.normalise_url(current_app.config["DATABASE_URL"]).render_as_string(hide_password=True)


def _fail(error):
    """Turn a MapperError into a CLI message naming the fields."""
    details = "".join(f"\n  {field}: {reason}" for field, reason in error.fields.items())
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
@with_appcontext
def create_user(email, role, organisation, trusted):
    """Create a user; the password comes from a prompt, or from stdin when piped."""
    password = _read_password()
    try:
        user = auth.create_user(db.get_session(), email, password, role, organisation, trusted)
    except MapperError as error:
        raise _fail(error) from None
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
        row, token = auth.create_token(session, auth.find_user(session, email), label)
    except MapperError as error:
        raise _fail(error) from None
    click.echo(f"Token {row.id} for {email}; keep it secret, it is shown only once:", err=True)
    click.echo(token)


@click.command("list-tokens")
@click.argument("email")
@with_appcontext
def list_tokens(email):
    """List a user's API tokens (ids, labels and use; never the tokens)."""
    session = db.get_session()
    try:
        tokens = auth.user_tokens(session, auth.find_user(session, email))
    except MapperError as error:
        raise _fail(error) from None
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
        count = auth.revoke_tokens(session, auth.find_user(session, email), token_id)
    except MapperError as error:
        raise _fail(error) from None
    if token_id is not None and count == 0:
        raise click.ClickException(f"{email} has no active token {token_id}.")
    click.echo(f"Revoked {count} token(s) of {email}.", err=True)


def init_app(app):
    for command in (init_db, demo, create_user, create_token, list_tokens, revoke_token):
        app.cli.add_command(command)
