"""Commands for the evidence: snapshot, backfill-snapshots and list-snapshots."""

import re
from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.datastructures import MultiDict

from mapper.core import analysis, snapshots
from mapper.errors import MapperError
from mapper.http import params
from mapper.store import db


def _failure(error):
    """Turn an error naming a parameter into a message naming the option."""
    name = next(iter(error.fields), "")
    option = {"la_codes": "la", "from": "from", "to": "to"}.get(name, name)
    return click.BadParameter(
        error.fields.get(name, error.message), param_hint=f"--{option.replace('_', '-')}"
    )


def _la_codes(la):
    try:
        return params.codes(MultiDict([("la", v) for v in la]), "la")
    except MapperError as error:
        raise _failure(error) from None


def _month(value, option):
    if value is None:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}", value):
        raise click.BadParameter(f"'{value}' is not a month in YYYY-MM form", param_hint=option)
    return date(int(value[:4]), int(value[5:]), 1)


def _described(snapshot):
    return (
        f"snapshot {snapshot.id}: {snapshot.label} — {snapshot.ward_count} wards, "
        f"{snapshot.kind}, describes {snapshot.reference_date.isoformat()}, boundaries "
        f"{snapshot.boundary_vintage}, method {snapshot.method_version}"
    )


@click.command("snapshot")
@click.option("--la", multiple=True, help="Local-authority GSS code(s); default: every ward.")
@click.option("--label", help='What the snapshot is for, e.g. "2026 annual review".')
@click.option("--category", multiple=True, help="Count only groups of these category slugs.")
@click.option("--kind", multiple=True, help="Count only groups of these kinds.")
@click.option(
    "--monthly",
    is_flag=True,
    help="A scheduled snapshot: do nothing if this month's is already stored (run from cron).",
)
@with_appcontext
def snapshot(la, label, category, kind, monthly):
    """Store the gap analysis as it is now, immutably; print its id last."""
    la_codes = _la_codes(la)
    session = db.get_session()
    attribution = current_app.config["BOUNDARY_ATTRIBUTION"]
    try:
        if monthly:
            if category or kind or label:
                raise click.UsageError("--monthly takes no --label, --category or --kind.")
            taken = snapshots.take_monthly(session, la_codes, attribution=attribution)
            if taken is None:
                click.echo("This month's scheduled snapshot is already stored.", err=True)
                return
        else:
            taken = snapshots.take_snapshot(
                session,
                label,
                la_codes,
                categories=category,
                kinds=kind,
                attribution=attribution,
            )
    except analysis.UnknownValues as error:
        raise _failure(params.unknown_values(error)) from None
    except MapperError as error:
        raise _failure(error) from None
    click.echo(f"Stored {_described(taken)}", err=True)
    click.echo(taken.id)


@click.command("backfill-snapshots")
@click.option("--from", "start", required=True, help="First month, YYYY-MM.")
@click.option("--to", "end", help="Last month, YYYY-MM (default: this month).")
@click.option("--la", multiple=True, help="Local-authority GSS code(s); default: every ward.")
@with_appcontext
def backfill_snapshots(start, end, la):
    """Reconstruct a monthly series from activity dates (marked as reconstructed)."""
    la_codes = _la_codes(la)
    first, last = _month(start, "--from"), _month(end, "--to")
    if last is not None and last < first:
        raise click.BadParameter("is before --from", param_hint="--to")
    try:
        taken, skipped = snapshots.backfill(
            db.get_session(),
            first,
            last,
            la_codes,
            attribution=current_app.config["BOUNDARY_ATTRIBUTION"],
        )
    except analysis.UnknownValues as error:
        raise _failure(params.unknown_values(error)) from None
    except MapperError as error:
        raise _failure(error) from None
    for day, reason in skipped:
        click.echo(f"{day:%Y-%m}: skipped, {reason}", err=True)
    for snapshot_ in taken:
        click.echo(f"Stored {_described(snapshot_)}", err=True)
    click.echo(f"{len(taken)} reconstructed, {len(skipped)} skipped", err=True)


@click.command("list-snapshots")
@click.option("--la", help="Only snapshots holding this local authority.")
@with_appcontext
def list_snapshots(la):
    """List the stored snapshots, newest first."""
    la_codes = _la_codes([la] if la else [])
    for snapshot_ in snapshots.list_snapshots(db.get_session(), la_codes[0] if la_codes else None):
        click.echo(_described(snapshot_))
