"""Commands for the database and its data: init-db, demo and gaps."""

import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.datastructures import MultiDict

from mapper.core import accounts, analysis, records, wards
from mapper.errors import MapperError
from mapper.http import gap_inputs, params, responses
from mapper.io import exports, located
from mapper.store import db
from mapper.store.models import CommunityGroup, Coordinator, Service

DEMO_ORGANISATION = "Eastmere CVS (fictional)"


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
    data = located.read_demo()
    session = db.get_session()
    with db.transaction(session):
        ward_counts = wards.save_wards(session, data["wards"])
        session.flush()
        lio = accounts.get_or_create_organisation(
            session, DEMO_ORGANISATION, kind="lio", trusted=True
        )
        groups = records.save_located(session, CommunityGroup, data["groups"], organisation=lio)
        services = records.save_located(session, Service, data["services"])
        coordinators = records.save_located(session, Coordinator, data["coordinators"])
        postcodes = records.save_postcodes(session, data["postcodes"])
    db.refresh_statistics(session)
    for label, (added, updated) in [
        ("wards", ward_counts),
        ("groups", groups),
        ("services", services),
        ("coordinators", coordinators),
        ("postcodes", postcodes),
    ]:
        click.echo(f"{label}: {added} added, {updated} updated", err=True)


@click.command("gaps")
@click.option("--la", multiple=True, help="Local-authority GSS code(s); repeat or comma-separate.")
@click.option("--ward", multiple=True, help="Ward GSS code(s); repeat or comma-separate.")
@click.option("--category", multiple=True, help="Count only groups of these category slugs.")
@click.option("--kind", multiple=True, help="Count only groups of these kinds.")
@click.option("--as-of", "as_of", help="YYYY-MM-DD: count the groups active on that date.")
@click.option("--reach-m", "reach_m", help="Walking distance of reach in metres (default 800).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(exports.GAP_FORMATS)),
    default="geojson",
    show_default=True,
)
@click.option(
    "--crs",
    type=click.Choice(["EPSG:4326", "EPSG:27700"]),
    default="EPSG:4326",
    show_default=True,
    help="Coordinates in lon/lat or British National Grid.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="File to write (default: stdout)."
)
@with_appcontext
def gaps(la, ward, category, kind, as_of, reach_m, fmt, crs, output):
    """Write the gap analysis, one feature or row per ward (data only on stdout)."""
    options = [("la", la), ("ward", ward), ("category", category), ("kind", kind)]
    args = MultiDict([(name, v) for name, values in options for v in values])
    for name, value in (("as_of", as_of), ("reach_m", reach_m)):
        if value:
            args.add(name, value)
    try:
        filters = gap_inputs.gap_filters(args)
        try:
            frame = analysis.compute_gaps(db.get_session(), **filters)
        except analysis.UnknownValues as error:
            raise params.unknown_values(error) from None
    except MapperError as error:
        name = next(iter(error.fields), "")
        raise click.BadParameter(
            error.fields.get(name, error.message), param_hint=f"--{name.replace('_', '-')}"
        ) from None
    attribution = current_app.config["BOUNDARY_ATTRIBUTION"]
    frame = responses.with_documentation_url(frame)
    body, _mimetype = exports.write_gaps(frame, fmt, attribution, int(crs.split(":")[1]))
    data = body.encode("utf-8") if isinstance(body, str) else body
    if output:
        with open(output, "wb") as file:
            file.write(data)
        click.echo(f"{len(frame)} wards written to {output}", err=True)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


def _safe_url():
    return db.normalise_url(current_app.config["DATABASE_URL"]).render_as_string(hide_password=True)
