"""The `mapper` commands: parse arguments, call importers/registry/analysis, print."""

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, run_command, with_appcontext

from mapper import config, db, importers, registry
from mapper.models import CommunityGroup, Coordinator, Service

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


def init_app(app):
    for command in (init_db, demo):
        app.cli.add_command(command)
