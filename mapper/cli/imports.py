"""The import commands: read a file, report each rejected row, save the rest in one transaction."""

import functools
import gc
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from flask.cli import with_appcontext
from pyproj.exceptions import CRSError

from mapper import geo
from mapper.core import accounts, imports, records, wards
from mapper.errors import MapperError
from mapper.io import areas, columns, located, openreferral
from mapper.store import db, queries
from mapper.store.models import CommunityGroup, Coordinator, Service

FILE = click.Path(exists=True, dir_okay=False)


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
    """Check that a --crs value names a CRS pyproj knows."""
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


@contextmanager
def _collecting_less():
    """Pause Python's cyclic garbage collector while a command imports: a big file's rows are
    millions of small objects in no cycle, which each collection would walk again (about a
    fifth of the CPU time of 50,000 groups). It runs again after, in a command's process."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


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


def _import(reading, noun, dry_run, strict, save, lock=None):
    """Save a reading's rows in one transaction unless told not to, and report.

    `save(session, rows, progress)` returns (added, updated, unchanged, report lines), using
    no other session (a dry run saves into a copy of an SQLite database). The command exits
    with status 1 when any row was rejected.
    """
    for note in reading.notes:
        click.echo(f"{reading.source}: {note}")
    write = not dry_run and not (strict and reading.rejected)
    try:
        with _progress(len(reading.rows), noun) as bar:
            added, updated, unchanged, lines = imports.run_import(
                db.get_session(), reading, save, write, bar.update, lock, apart=True
            )
    except imports.Refused as error:
        raise click.ClickException(error.message) from None
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
@click.option(
    "--attribution",
    help="The boundaries' source and licence, stated in every download, page and PDF of them "
    "(default: BOUNDARY_ATTRIBUTION, ONS and OS).",
)
@import_options
@with_appcontext
def import_wards(
    path, layer, code_field, name_field, la_code_field, la_name_field, attribution, **options
):
    """Import ward boundaries from GeoJSON, GeoPackage, zipped Shapefile or any OGR file.

    Wards are matched on code and vintage. A newer vintage retires the wards it replaces,
    every group's and service's ward is derived again, and the changes are reported.
    """
    named = {"code": code_field, "name": name_field, "la_code": la_code_field}
    fields = {k: v for k, v in {**named, "la_name": la_name_field}.items() if v}
    dry_run, strict = options.pop("dry_run"), options.pop("strict")
    with _reading(path):
        reading = areas.read_wards(path, layer, fields, **options)

    def save(session, rows, progress):
        if not rows:
            return 0, 0, 0, []
        frame = located.as_frame(rows)
        if attribution:
            frame["attribution"] = attribution
        added, updated, changes = wards.import_wards(session, frame, progress)
        return added, updated, len(rows) - added - updated, _boundary_report(changes)

    _import(reading, "wards", dry_run, strict, save)


def _boundary_report(changes):
    lines = [
        f"boundary changes: {len(changes.added)} wards added, {len(changes.removed)} removed, "
        f"{len(changes.changed)} changed; {changes.moved} groups and services moved ward"
    ]
    if changes.removed or changes.changed:
        for label, listed in (
            ("added", changes.added),
            ("removed", changes.removed),
            ("changed", changes.changed),
        ):
            lines.extend(f"  {label}: {code} {name}" for code, name in listed)
    if changes.retired_on_arrival:
        lines.append(
            f"{changes.retired_on_arrival} imported wards are older than the current wards "
            "where they lie: kept as history, not current"
        )
    return lines


@click.command("import-population")
@click.argument("path", type=FILE)
@field_option(areas.POPULATION_FIELDS)
@import_options
@with_appcontext
def import_population(path, fields, dry_run, strict):
    """Import ward populations by ward code (also the ONS/Nomis layout: Persons, all_ages)."""
    with _reading(path):
        given = columns.parse_fields(fields, areas.POPULATION_FIELDS)
        reading = areas.read_population(path, given)
    _reject_unknown_wards(reading)

    def save(session, rows, progress):
        updated, unchanged = wards.save_ward_figures(session, rows)
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
    default=wards.ENGLAND_LSOAS,
    show_default=True,
    help="How many LSOAs the index ranks nationally (33755 for IoD 2025).",
)
@field_option(areas.IMD_FIELDS)
@import_options
@with_appcontext
def import_imd(path, lsoa_boundaries, layer, lsoa_count, fields, dry_run, strict):
    """Import Index of Multiple Deprivation figures, by LSOA (to wards) or by ward.

    See docs/imd.md for the ward figures derived from LSOAs.
    """
    with _reading(path):
        given = columns.parse_fields(fields, areas.IMD_FIELDS)
        reading = areas.read_imd(path, lsoa_boundaries, given, layer)
    rows = reading.values()
    if not rows or "lsoa_code" not in rows[0]:
        _reject_unknown_wards(reading)

        def save(session, rows, progress):
            updated, unchanged = wards.save_ward_figures(session, rows)
            progress(len(rows))
            return 0, updated, unchanged, []

    else:
        ward_ids = wards.locate_wards(db.get_session(), [row["point"] for row in rows])
        for row, ward_id in zip(rows, ward_ids, strict=True):
            row["ward_id"] = ward_id
        reading.reject_rows(
            [None if w else "its point-on-surface is outside every known ward" for w in ward_ids]
        )

        def save(session, rows, progress):
            updated, unchanged = wards.save_imd_by_lsoa(session, rows, lsoa_count)
            progress(len(rows))
            count = len({row["ward_id"] for row in rows})
            return 0, updated, unchanged, [f"{len(rows)} LSOAs gave figures to {count} wards"]

    _import(reading, "deprivation figures", dry_run, strict, save)


@click.command("import-postcodes")
@click.argument("path", type=FILE)
@import_options
@with_appcontext
def import_postcodes(path, dry_run, strict):
    """Import postcode centroids from an ONS Postcode Directory extract (postcode, lon/lat;
    optionally a population, residents or people column, which weights reach)."""
    with _reading(path):
        reading = areas.read_postcodes(path)
    _import(reading, "postcodes", dry_run, strict, imports.in_chunks(records.save_postcodes))


def located_command(name, model, noun):
    """Build import-groups, import-services or import-coordinators."""

    @click.command(name)
    @click.argument("path", type=FILE)
    @click.option("--layer", help="The layer to read, when the file holds several.")
    @field_option([*located.LOCATED_FIELDS[model], *located.LOCATION_FIELDS])
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
    @_collecting_less()
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
        targets = {*located.LOCATED_FIELDS[model], *located.LOCATION_FIELDS}
        with _reading(path):
            reading = located.read_located(
                path,
                model,
                fields=columns.parse_fields(fields, targets),
                crs=crs,
                layer=layer,
                categories=[vocabulary[c.lower()] for c in categories],
                vocabulary=vocabulary,
                find_postcodes=functools.partial(queries.postcode_lonlats, session),
            )
        reading.reject_rows(records.check_located(session, model, reading.values()))

        def save_part(session, rows):
            owner = (
                accounts.get_or_create_organisation(session, organisation) if organisation else None
            )
            if model is Coordinator:
                defaults = {"employer": owner} if owner else None
                return records.save_located(session, model, rows, defaults=defaults)
            defaults = {"status": "active"}
            return records.save_located(session, model, rows, owner, defaults=defaults)

        _import(reading, noun, dry_run, strict, imports.in_chunks(save_part), model.__tablename__)

    command.help = (
        f"Import {noun} from GeoJSON, GeoPackage, zipped Shapefile or CSV (lon/lat, "
        "easting/northing or postcode). Records match on an external id column, else on "
        f"name and location within {records.MATCH_METRES:g} m."
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


@click.command("import-openreferral")
@click.argument("feed")
@click.option(
    "--source",
    help="The name of the feed in the services' external ids [default: the URL's host and "
    "path, or the file's name]. Keep it the same from one run to the next.",
)
@import_options
@with_appcontext
def import_openreferral(feed, source, dry_run, strict):
    """Import the services of an Open Referral UK feed (HSDS 3.0, UK profile): a URL or a file.

    Every page of the feed's /services is read, and each service in full. Services keep the
    feed's ids (with the source), so a re-run (from cron, say) updates them, and closes the
    source's services that the feed no longer lists, when every page was read. A page or a
    service that cannot be read is skipped and reported; the rest is imported.
    """
    if not openreferral.is_url(feed) and not Path(feed).is_file():
        reason = f"{feed} is neither an http(s) address nor a file"
        raise click.BadParameter(reason, param_hint="FEED")
    session = db.get_session()
    label = source or openreferral.source_label(feed)
    with _reading(feed):
        reading = openreferral.read_feed(
            feed,
            label,
            vocabulary=queries.category_vocabulary(session),
            find_postcodes=functools.partial(queries.postcode_lonlats, session),
        )
    reading.reject_rows(records.check_located(session, Service, reading.values()))

    def save(session, rows, progress):
        added, updated, unchanged, lines = imports.in_chunks(
            lambda part_session, part: records.save_located(
                part_session, Service, part, defaults={"status": "active"}
            )
        )(session, rows, progress)
        if reading.complete:
            prefix = f"{openreferral.PREFIX}:{label}:"
            closed = records.retire_missing(session, Service, prefix, reading.listed)
            lines.append(f"{closed} services no longer in the feed closed")
        else:
            lines.append("some of the feed was not read: no service was closed for being missing")
        return added, updated, unchanged, lines

    _import(reading, "services", dry_run, strict, save, Service.__tablename__)
