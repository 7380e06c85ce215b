"""The `mapper` commands: parse arguments, call importers/registry/analysis, print."""

import functools
import sys
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, run_command, with_appcontext
from pyproj.exceptions import CRSError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import MultiDict

from mapper import analysis, auth, config, db, exports, geo, importers, params, queries, registry
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
    db.refresh_statistics(session)
    for label, (added, updated) in [
        ("wards", wards),
        ("groups", groups),
        ("services", services),
        ("coordinators", coordinators),
        ("postcodes", postcodes),
    ]:
        click.echo(f"{label}: {added} added, {updated} updated", err=True)


FILE = click.Path(exists=True, dir_okay=False)
CHUNK = 500  # rows saved at a time, so that the progress bar moves


def import_options(command):
    """Add --dry-run and --strict to an import command."""
    command = click.option(
        "--strict", is_flag=True, help="Write nothing at all if any row is rejected."
    )(command)
    return click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")(
        command
    )


def field_option(targets):
    """Add a repeatable --field TARGET=COLUMN for columns with uncommon names."""
    return click.option(
        "--field",
        "fields",
        multiple=True,
        metavar="TARGET=COLUMN",
        help="Read TARGET from COLUMN when its name is not a common one (repeatable). "
        f"TARGET: {', '.join(targets)}.",
    )


def crs_option(value):
    if value:
        try:
            geo.epsg_of(value)
        except CRSError as error:
            raise click.BadParameter(str(error)) from None
    return value


@contextmanager
def _reading(path):
    """Turn a file the importers cannot read into a message naming it."""
    try:
        yield
    except MapperError as error:
        raise click.ClickException(f"{path}: {error.message}") from None


def _progress(length, noun):
    """A progress bar with counts on stderr when it is a terminal; silent otherwise."""
    stream = sys.stderr
    return click.progressbar(
        length=length,
        label=f"Importing {noun}",
        show_pos=True,
        file=stream,
        hidden=not stream.isatty(),
    )


def _import(reading, noun, dry_run, strict, save):
    """Save a reading's rows in one transaction unless told not to, and report.

    `save(session, rows, progress)` returns (added, updated, unchanged, report lines). The
    command exits with status 1 when any row was rejected.
    """
    for note in reading.notes:
        click.echo(f"{reading.source}: {note}")
    session = db.get_session()
    write = not dry_run and not (strict and reading.rejected)
    try:
        with db.transaction(session, commit=write), _progress(len(reading.rows), noun) as bar:
            added, updated, unchanged, lines = save(session, reading.values(), bar.update)
        if write:
            db.refresh_statistics(session)
    except SQLAlchemyError as error:
        raise click.ClickException(
            f"{reading.source}: the database refused the import; nothing was written "
            f"({getattr(error, 'orig', None) or error})"
        ) from None
    for line in lines:
        click.echo(line)
    for rejection in reading.rejections():
        click.echo(f"{reading.source}: {rejection.where}: {rejection.reason}")
    summary = (
        f"{reading.source}: {added} imported, {updated} updated, {unchanged} unchanged, "
        f"{len(reading.rejected)} rejected"
    )
    if dry_run:
        summary += " (dry run: nothing written)"
    elif not write:
        summary += " (--strict: nothing written)"
    click.echo(summary)
    if reading.rejected:
        click.get_current_context().exit(1)


def _in_chunks(save_part):
    """Return a save function that saves rows CHUNK at a time and moves the progress bar."""

    def save(session, rows, progress):
        added = updated = 0
        for start in range(0, len(rows), CHUNK):
            part = rows[start : start + CHUNK]
            counts = save_part(session, part)
            added, updated = added + counts[0], updated + counts[1]
            progress(len(part))
        return added, updated, len(rows) - added - updated, []

    return save


@click.command("import-wards")
@click.argument("path", type=FILE)
@click.option("--layer", help="The layer to read, when the file holds several.")
@click.option("--code-field", help="The column of ward codes (E05…).")
@click.option("--name-field", help="The column of ward names.")
@click.option("--la-code-field", help="The column of local authority codes.")
@click.option("--la-name-field", help="The column of local authority names.")
@click.option(
    "--la-code",
    help="The wards' local authority when the file has none; else import only its wards.",
)
@click.option("--la-name", help="The wards' local authority name.")
@click.option(
    "--la-boundaries",
    type=FILE,
    help="Local authority polygons: each ward goes to the one holding its point-on-surface.",
)
@click.option("--vintage", help="The boundary vintage, e.g. 2023 (WD23CD columns say it).")
@import_options
@with_appcontext
def import_wards(path, layer, code_field, name_field, la_code_field, la_name_field, **options):
    """Import ward boundaries from GeoJSON, GeoPackage, zipped Shapefile or any OGR file.

    Wards are matched on code and vintage. A newer vintage retires the wards it replaces,
    every group's and service's ward is derived again, and the changes are reported.
    """
    named = {"code": code_field, "name": name_field, "la_code": la_code_field}
    fields = {k: v for k, v in {**named, "la_name": la_name_field}.items() if v}
    dry_run, strict = options.pop("dry_run"), options.pop("strict")
    with _reading(path):
        reading = importers.read_wards(path, layer, fields, **options)

    def save(session, rows, progress):
        if not rows:
            return 0, 0, 0, []
        frame = importers.as_frame(rows)
        added, updated, changes = registry.import_wards(session, frame, progress)
        return added, updated, len(rows) - added - updated, _boundary_report(changes)

    _import(reading, "wards", dry_run, strict, save)


def _boundary_report(changes):
    lines = [
        f"boundary changes: {len(changes.added)} wards added, {len(changes.removed)} removed, "
        f"{len(changes.changed)} changed; {changes.moved} groups and services moved ward"
    ]
    if changes.removed or changes.changed:
        for label, wards in (
            ("added", changes.added),
            ("removed", changes.removed),
            ("changed", changes.changed),
        ):
            lines.extend(f"  {label}: {code} {name}" for code, name in wards)
    if changes.retired_on_arrival:
        lines.append(
            f"{changes.retired_on_arrival} imported wards are older than the current wards "
            "where they lie: kept as history, not current"
        )
    return lines


@click.command("import-population")
@click.argument("path", type=FILE)
@field_option(importers.POPULATION_FIELDS)
@import_options
@with_appcontext
def import_population(path, fields, dry_run, strict):
    """Import ward populations by ward code (also the ONS/Nomis layout: Persons, all_ages)."""
    with _reading(path):
        given = importers.parse_fields(fields, importers.POPULATION_FIELDS)
        reading = importers.read_population(path, given)
    _reject_unknown_wards(reading)

    def save(session, rows, progress):
        updated, unchanged = registry.save_ward_figures(session, rows)
        progress(len(rows))
        return 0, updated, unchanged, []

    _import(reading, "population", dry_run, strict, save)


def _reject_unknown_wards(reading):
    codes = queries.known_ward_codes(db.get_session(), [r["code"] for r in reading.values()])
    reading.reject_rows(
        [
            None if row["code"] in codes else f"unknown ward {row['code']} (import it first)"
            for row in reading.values()
        ]
    )


@click.command("import-imd")
@click.argument("path", type=FILE)
@click.option(
    "--lsoa-boundaries",
    type=FILE,
    help="LSOA polygons, for figures by LSOA: each goes to the ward holding its point-on-surface.",
)
@click.option("--layer", help="The layer of --lsoa-boundaries, when it holds several.")
@click.option(
    "--lsoa-count",
    type=click.IntRange(min=1),
    default=registry.ENGLAND_LSOAS,
    show_default=True,
    help="How many LSOAs the index ranks nationally (33755 for IoD 2025).",
)
@field_option(importers.IMD_FIELDS)
@import_options
@with_appcontext
def import_imd(path, lsoa_boundaries, layer, lsoa_count, fields, dry_run, strict):
    """Import Index of Multiple Deprivation figures, by LSOA (to wards) or by ward.

    See docs/imd.md for the ward figures derived from LSOAs.
    """
    with _reading(path):
        given = importers.parse_fields(fields, importers.IMD_FIELDS)
        reading = importers.read_imd(path, lsoa_boundaries, given, layer)
    rows = reading.values()
    if not rows or "lsoa_code" not in rows[0]:
        _reject_unknown_wards(reading)

        def save(session, rows, progress):
            updated, unchanged = registry.save_ward_figures(session, rows)
            progress(len(rows))
            return 0, updated, unchanged, []

    else:
        ward_ids = registry.locate_wards(db.get_session(), [row["point"] for row in rows])
        for row, ward_id in zip(rows, ward_ids, strict=True):
            row["ward_id"] = ward_id
        reading.reject_rows(
            [None if w else "its point-on-surface is outside every known ward" for w in ward_ids]
        )

        def save(session, rows, progress):
            updated, unchanged = registry.save_imd_by_lsoa(session, rows, lsoa_count)
            progress(len(rows))
            wards = len({row["ward_id"] for row in rows})
            return 0, updated, unchanged, [f"{len(rows)} LSOAs gave figures to {wards} wards"]

    _import(reading, "deprivation figures", dry_run, strict, save)


@click.command("import-postcodes")
@click.argument("path", type=FILE)
@import_options
@with_appcontext
def import_postcodes(path, dry_run, strict):
    """Import postcode centroids from an ONS Postcode Directory extract (postcode, lon/lat)."""
    with _reading(path):
        reading = importers.read_postcodes(path)
    _import(reading, "postcodes", dry_run, strict, _in_chunks(registry.save_postcodes))


def located_command(name, model, noun):
    """Build import-groups, import-services or import-coordinators."""

    @click.command(name)
    @click.argument("path", type=FILE)
    @click.option("--layer", help="The layer to read, when the file holds several.")
    @field_option([*importers.LOCATED_FIELDS[model], *importers.LOCATION_FIELDS])
    @click.option(
        "--crs",
        callback=lambda _ctx, _param, value: crs_option(value),
        help="The CRS of x/y columns [default: EPSG:4326 for lon/lat, EPSG:27700 for "
        "easting/northing].",
    )
    @click.option(
        "--organisation",
        help="The employer of those that name none."
        if model is Coordinator
        else "The organisation that registers them.",
    )
    @import_options
    @with_appcontext
    def command(path, layer, fields, crs, organisation, dry_run, strict, categories=()):
        session = db.get_session()
        vocabulary = queries.category_vocabulary(session)
        unknown = [c for c in categories if c.lower() not in vocabulary]
        if unknown:
            raise click.BadParameter(
                f"unknown category {', '.join(unknown)} (known: "
                f"{', '.join(sorted(set(vocabulary.values())))})",
                param_hint="--category",
            )
        targets = {*importers.LOCATED_FIELDS[model], *importers.LOCATION_FIELDS}
        with _reading(path):
            reading = importers.read_located(
                path,
                model,
                fields=importers.parse_fields(fields, targets),
                crs=crs,
                layer=layer,
                categories=[vocabulary[c.lower()] for c in categories],
                vocabulary=vocabulary,
                find_postcodes=functools.partial(queries.postcode_lonlats, session),
            )
        reading.reject_rows(registry.check_located(session, model, reading.values()))

        def save_part(session, rows):
            owner = (
                registry.get_or_create_organisation(session, organisation) if organisation else None
            )
            if model is Coordinator:
                defaults = {"employer": owner} if owner else None
                return registry.save_located(session, model, rows, defaults=defaults)
            defaults = {"status": "active"}
            return registry.save_located(session, model, rows, owner, defaults=defaults)

        _import(reading, noun, dry_run, strict, _in_chunks(save_part))

    command.help = (
        f"Import {noun} from GeoJSON, GeoPackage, zipped Shapefile or CSV (lon/lat, "
        "easting/northing or postcode). Records match on an external id column, else on "
        f"name and location within {registry.MATCH_METRES:g} m."
    )
    if model is not Coordinator:
        command.help += " New ones are active unless the file says otherwise."
        command.params.append(
            click.Option(
                ["--category", "categories"],
                multiple=True,
                metavar="SLUG",
                help="A category of the rows that name none (repeatable).",
            )
        )
    return command


import_groups = located_command("import-groups", CommunityGroup, "groups")
import_services = located_command("import-services", Service, "services")
import_coordinators = located_command("import-coordinators", Coordinator, "coordinators")


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
    for command in (init_db, demo, gaps, create_user, create_token, list_tokens, revoke_token):
        app.cli.add_command(command)
    for command in (
        import_wards,
        import_population,
        import_imd,
        import_postcodes,
        import_groups,
        import_services,
        import_coordinators,
    ):
        app.cli.add_command(command)
