"""The `mapper` commands: parse arguments, call importers/registry/analysis, print."""

import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, run_command, with_appcontext
from werkzeug.datastructures import MultiDict

from mapper import analysis, config, db, exports, importers, params, registry
from mapper.errors import MapperError
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


@click.command("gaps")
@click.option("--la", multiple=True, help="Local-authority GSS code(s); repeat or comma-separate.")
@click.option("--ward", multiple=True, help="Ward GSS code(s); repeat or comma-separate.")
@click.option("--category", multiple=True, help="Count only groups of these category slugs.")
@click.option("--kind", multiple=True, help="Count only groups of these kinds.")
@click.option("--as-of", "as_of", help="YYYY-MM-DD: count the groups active on that date.")
@click.option(
    "--format", "fmt", type=click.Choice(["geojson", "csv"]), default="geojson", show_default=True
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="File to write (default: stdout)."
)
@with_appcontext
def gaps(la, ward, category, kind, as_of, fmt, output):
    """Write the gap analysis, one feature or row per ward (data only on stdout)."""
    options = [("la", la), ("ward", ward), ("category", category), ("kind", kind)]
    args = MultiDict([(name, v) for name, values in options for v in values])
    if as_of:
        args.add("as_of", as_of)
    try:
        filters = params.gap_filters(args)
        try:
            frame = analysis.compute_gaps(db.get_session(), **filters)
        except analysis.UnknownValues as error:
            raise params.unknown_values(error) from None
    except MapperError as error:
        name = next(iter(error.fields), "")
        raise click.BadParameter(
            error.fields.get(name, error.message), param_hint=f"--{name.replace('_', '-')}"
        ) from None
    if fmt == "geojson":
        data = exports.gaps_geojson(frame, current_app.config["BOUNDARY_ATTRIBUTION"])
        text = exports.geojson_text(data)
    else:
        text = exports.gaps_csv(frame)
    if output:
        with open(output, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        click.echo(f"{len(frame)} wards written to {output}", err=True)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def _safe_url():
    return db.normalise_url(current_app.config["DATABASE_URL"]).render_as_string(hide_password=True)


def init_app(app):
    for command in (init_db, demo, gaps):
        app.cli.add_command(command)
