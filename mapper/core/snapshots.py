"""Snapshots: the gap analysis as computed, stored immutably, listed and read back as frames.

A snapshot keeps every row with all its properties (whatever `compute_gaps` returned, so new
properties flow in), the method version that computed it, its parameters, filters, reference
date and boundary vintage. Reading one back gives the frame the download writers of the live
analysis take, so a snapshot is downloadable in every format the analysis is.
"""

import hashlib
from datetime import UTC, date, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import func, select

from mapper import config, geo
from mapper.core import analysis
from mapper.errors import Invalid, NotFound
from mapper.io import exports
from mapper.store import db
from mapper.store.db import to_wkb_element
from mapper.store.evidence import Snapshot, SnapshotPart, SnapshotShape, pack_rows, unpack_rows
from mapper.store.models import CommunityGroup

CHUNK = 1000  # ids or digests per IN (...) list
LABEL_LIMIT = 200
RECONSTRUCTED_NOTE = (
    "Reconstructed from activity dates: groups are counted as they were active on the "
    "reference date; services, coordinator coverage, populations, deprivation and ward "
    "boundaries are those stored when it was reconstructed."
)


def scope_text(la_codes):
    """Return a snapshot's stored scope: the local authorities, sorted and comma-separated."""
    return ",".join(sorted(set(la_codes)))


def shape_digests(geoms):
    """Return the SHA-256 of each shape's WKB: equal shapes, equal digests.

    Ward shapes are stored on the grid of `geo.on_grid`, and so are snapshot shapes: the
    same boundary read from either gives the same WKB.
    """
    wkbs = shapely.to_wkb(np.asarray(list(geoms), dtype=object))
    return [hashlib.sha256(wkb).hexdigest() for wkb in wkbs]


def take_snapshot(
    session,
    label=None,
    la_codes=(),
    categories=(),
    kinds=(),
    as_of=None,
    kind="manual",
    user=None,
    attribution=None,
):
    """Compute the gap analysis of the current wards and store it; return the Snapshot.

    `as_of` reconstructs a past day from activity dates (see `backfill`). `attribution` is
    the boundary licence text to state in its downloads (setting BOUNDARY_ATTRIBUTION; by
    default the default one).
    """
    frame = analysis.compute_gaps(
        session, la_codes=la_codes, categories=categories, kinds=kinds, as_of=as_of
    )
    if not len(frame):
        raise Invalid("There are no current wards to take a snapshot of.", {"la": "no wards"})
    user_id = user.id if user else None
    session.rollback()  # end the reading; nothing was written
    with db.write_transaction(session):
        return store_snapshot(session, frame, label, kind, user_id, attribution)


def store_snapshot(session, frame, label=None, kind="manual", user_id=None, attribution=None):
    """Store an analysis frame as a snapshot (the caller commits); return it."""
    metadata = dict(frame.attrs["metadata"])
    parameters = metadata["parameters"]
    if kind == "reconstructed":
        metadata["reconstructed"] = RECONSTRUCTED_NOTE
    columns = exports.gap_columns(frame)
    records = exports.gap_records(frame)
    shape_ids = store_shapes(session, list(frame.geometry))
    by_la = {}
    for record, shape_id in zip(records, shape_ids, strict=True):
        part = by_la.setdefault(record.get("la_code") or "", [record.get("la_name"), [], []])
        part[1].append([record[c] for c in columns])
        part[2].append(shape_id)
    vintage = metadata["boundary_vintage"]
    snapshot = Snapshot(
        label=_label(label, parameters),
        kind=kind,
        reference_date=date.fromisoformat(parameters["reference_date"]),
        scope=scope_text(parameters["la"]),
        filtered=bool(parameters["category"] or parameters["kind"]),
        method_version=metadata["method_version"],
        boundary_vintage=", ".join(vintage) if isinstance(vintage, list) else str(vintage),
        ward_count=len(records),
        columns=columns,
        details=metadata,
        attribution=config.DEFAULTS["BOUNDARY_ATTRIBUTION"] if attribution is None else attribution,
        created_by_id=user_id,
        parts=[
            SnapshotPart(
                la_code=code, la_name=name, ward_count=len(rows), rows=pack_rows(rows, ids)
            )
            for code, (name, rows, ids) in sorted(by_la.items())
        ],
    )
    session.add(snapshot)
    session.flush()
    return snapshot


def _label(label, parameters):
    label = (label or "").strip()
    if len(label) > LABEL_LIMIT:
        raise Invalid("The label is too long.", {"label": f"at most {LABEL_LIMIT} characters"})
    if label:
        return label
    scope = ", ".join(parameters["la"]) or "every ward"
    return f"Gap analysis of {scope} on {parameters['reference_date']}"


def store_shapes(session, geoms):
    """Return the snapshot_shapes id of each shape, storing those not kept yet (once each)."""
    digests = shape_digests(geoms)
    found = _shape_ids(session, set(digests))
    new = {d: g for d, g in zip(digests, geoms, strict=True) if d not in found}
    if new:
        rows = [{"digest": d, "geom": to_wkb_element(g)} for d, g in new.items()]
        db.insert_new(session, SnapshotShape.__table__, rows, "digest")
        found.update(_shape_ids(session, set(new)))
    return [found[d] for d in digests]


def _shape_ids(session, digests):
    digests, found = sorted(digests), {}
    for start in range(0, len(digests), CHUNK):
        query = select(SnapshotShape.digest, SnapshotShape.id).where(
            SnapshotShape.digest.in_(digests[start : start + CHUNK])
        )
        found.update(dict(session.execute(query).all()))
    return found


def get_snapshot(session, snapshot_id):
    """Return a snapshot by id; NotFound if there is none."""
    snapshot = session.get(Snapshot, snapshot_id)
    if snapshot is None:
        raise NotFound(f"There is no snapshot {snapshot_id}.")
    return snapshot


def list_snapshots(session, la_code=None, limit=None):
    """Return snapshots, newest reference date first (those holding `la_code`, if given)."""
    query = select(Snapshot).order_by(
        Snapshot.reference_date.desc(), Snapshot.taken_at.desc(), Snapshot.id.desc()
    )
    if la_code:
        query = query.where(_holds([la_code]))
    return list(session.scalars(query.limit(limit)))


def _holds(la_codes):
    """The WHERE clause choosing snapshots that hold a part for every one of `la_codes`."""
    la_codes = sorted(set(la_codes))
    held = (
        select(func.count())
        .where(SnapshotPart.snapshot_id == Snapshot.id, SnapshotPart.la_code.in_(la_codes))
        .scalar_subquery()
    )
    return held == len(la_codes)


def snapshot_on(session, day, la_codes=()):
    """Return the snapshot describing `day` for these local authorities (every ward without
    them): the latest unfiltered one on or before it, taken rather than reconstructed when
    both describe the same day. None if there is none."""
    query = (
        select(Snapshot)
        .where(Snapshot.reference_date <= day, Snapshot.filtered.is_(False))
        .order_by(
            Snapshot.reference_date.desc(),
            (Snapshot.kind == "reconstructed").asc(),
            Snapshot.taken_at.desc(),
            Snapshot.id.desc(),
        )
        .limit(1)
    )
    query = query.where(_holds(la_codes)) if la_codes else query.where(Snapshot.scope == "")
    return session.scalar(query)


def local_authorities(session, snapshot):
    """Return [(la_code, la_name, ward count)] of a snapshot's parts."""
    query = select(SnapshotPart.la_code, SnapshotPart.la_name, SnapshotPart.ward_count).where(
        SnapshotPart.snapshot_id == snapshot.id
    )
    return [tuple(row) for row in session.execute(query.order_by(SnapshotPart.la_code))]


def parts_of(session, snapshot_ids):
    """Return {snapshot id: [(la_code, la_name, ward count)]} of many snapshots at once."""
    query = (
        select(
            SnapshotPart.snapshot_id,
            SnapshotPart.la_code,
            SnapshotPart.la_name,
            SnapshotPart.ward_count,
        )
        .where(SnapshotPart.snapshot_id.in_(list(snapshot_ids)))
        .order_by(SnapshotPart.snapshot_id, SnapshotPart.la_code)
    )
    found = {i: [] for i in snapshot_ids}
    for snapshot_id, *part in session.execute(query):
        found[snapshot_id].append(tuple(part))
    return found


def held_local_authorities(session):
    """Return [(la_code, la_name)] of every local authority some snapshot holds, by name."""
    query = select(SnapshotPart.la_code, func.max(SnapshotPart.la_name)).group_by(
        SnapshotPart.la_code
    )
    found = [(code, name or code) for code, name in session.execute(query) if code]
    return sorted(found, key=lambda pair: (pair[1].lower(), pair[0]))


def snapshot_records(session, snapshot, la_codes=(), ward_codes=()):
    """Return (columns, rows as dicts, shape ids) of a snapshot, ordered by ward code.

    `la_codes` and `ward_codes` narrow the rows; a local authority or ward the snapshot does
    not hold raises analysis.UnknownValues naming it.
    """
    columns, rows, shapes = _stored_rows(session, snapshot, la_codes, ward_codes)
    return columns, [dict(zip(columns, row, strict=True)) for row in rows], shapes


def _stored_rows(session, snapshot, la_codes, ward_codes):
    """(columns, rows as lists, shape ids) of a snapshot, as snapshot_records says."""
    query = select(SnapshotPart.la_code, SnapshotPart.rows).where(
        SnapshotPart.snapshot_id == snapshot.id
    )
    if la_codes:
        query = query.where(SnapshotPart.la_code.in_(list(la_codes)))
    parts = session.execute(query).all()
    held = {code for code, _rows in parts}
    missing = [c for c in dict.fromkeys(la_codes) if c not in held]
    if missing:
        raise analysis.UnknownValues("la_codes", missing)
    columns = list(snapshot.columns)
    code = columns.index("ward_code")
    rows, shapes = [], []
    for _la, data in parts:
        part_rows, part_shapes = unpack_rows(data)
        rows += part_rows
        shapes += part_shapes
    if ward_codes:
        present = {row[code] for row in rows}
        unknown = [c for c in dict.fromkeys(ward_codes) if c not in present]
        if unknown:
            raise analysis.UnknownValues("ward_codes", unknown)
        wanted = set(ward_codes)
        kept = [i for i, row in enumerate(rows) if row[code] in wanted]
        rows, shapes = [rows[i] for i in kept], [shapes[i] for i in kept]
    order = sorted(range(len(rows)), key=lambda i: rows[i][code])
    return columns, [rows[i] for i in order], [shapes[i] for i in order]


def shapes_by_id(session, shape_ids):
    """Return {id: shapely geometry} of stored snapshot shapes."""
    ids, rows = sorted(set(shape_ids)), []
    for start in range(0, len(ids), CHUNK):
        query = select(SnapshotShape.id, func.ST_AsBinary(SnapshotShape.geom)).where(
            SnapshotShape.id.in_(ids[start : start + CHUNK])
        )
        rows += session.execute(query).all()
    shapes = shapely.from_wkb([bytes(wkb) for _id, wkb in rows]) if rows else []
    return dict(zip([r[0] for r in rows], shapes, strict=True))


def snapshot_frame(session, snapshot, la_codes=(), ward_codes=()):
    """Return a snapshot as the frame the analysis gave: its rows as stored (plain values),
    the ward shapes, and the metadata as computed, naming the snapshot."""
    columns, rows, shape_ids = _stored_rows(session, snapshot, la_codes, ward_codes)
    shapes = shapes_by_id(session, shape_ids)
    frame = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=columns, dtype=object),
        geometry=[shapes[i] for i in shape_ids],
        crs=geo.WGS84,
    )
    metadata = dict(snapshot.details)
    metadata["snapshot"] = describe(snapshot)
    if la_codes or ward_codes:
        metadata["snapshot"]["subset"] = {"la": list(la_codes), "ward": list(ward_codes)}
        metadata["counts"] = analysis.summary_counts(frame)
    frame.attrs["metadata"] = metadata
    return frame


def describe(snapshot):
    """Return what identifies a snapshot in its downloads and in changes computed from it."""
    return {
        "id": snapshot.id,
        "label": snapshot.label,
        "kind": snapshot.kind,
        "taken_at": _utc(snapshot.taken_at).isoformat(),
        "reference_date": snapshot.reference_date.isoformat(),
        "boundary_vintage": snapshot.boundary_vintage,
        "method_version": snapshot.method_version,
    }


def _utc(moment):
    """SQLite hands back naive datetimes; every stored time is UTC."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def filename(snapshot, extension, la_codes=(), ward_codes=()):
    """Return a download name saying which snapshot, what scope and which day it describes."""
    scope = list(la_codes) or list(ward_codes) or snapshot.scope.split(",")
    scope = [s for s in scope if s] or ["all-wards"]
    day = snapshot.reference_date.isoformat()
    return f"community-gaps_snapshot-{snapshot.id}_{'+'.join(scope)}_{day}.{extension}"


def take_monthly(session, la_codes=(), user=None, attribution=None):
    """Take this month's scheduled snapshot of the scope unless one is already stored;
    return it, or None when it was already there (so cron may run it every day)."""
    today = date.today()  # the day compute_gaps describes
    month_start = today.replace(day=1)
    existing = session.scalar(
        select(Snapshot.id).where(
            Snapshot.kind == "scheduled",
            Snapshot.scope == scope_text(la_codes),
            Snapshot.reference_date >= month_start,
            Snapshot.reference_date <= today,
        )
    )
    if existing is not None:
        return None
    scope = ", ".join(sorted(set(la_codes))) or "every ward"
    label = f"Monthly snapshot {today:%Y-%m} of {scope}"
    return take_snapshot(
        session, label, la_codes, kind="scheduled", user=user, attribution=attribution
    )


def first_activity_date(session):
    """Return the earliest day a non-pending group was active, or None without groups."""
    started = func.coalesce(CommunityGroup.active_from, func.date(CommunityGroup.created_at))
    first = session.scalar(select(func.min(started)).where(CommunityGroup.status != "pending"))
    return date.fromisoformat(first) if isinstance(first, str) else first


def months(start, end):
    """Return the first day of every month from `start`'s month to `end`'s, in order."""
    days, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        days.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return days


def backfill(session, start, end=None, la_codes=(), user=None, attribution=None, today=None):
    """Reconstruct monthly snapshots (the first of each month, from `start` to `end`) from
    activity dates, marked as reconstructed, where the data allows.

    Returns (snapshots taken, [(day, why it was skipped)]). A month before any group's
    activity date, in the future, or already reconstructed for this scope is skipped. Each
    month is stored in its own transaction.
    """
    today = today or datetime.now(UTC).date()
    end = min(end or today, today)
    first = first_activity_date(session)
    if first is None:
        raise Invalid("No group has an activity date to reconstruct from.", {"from": "no data"})
    scope = scope_text(la_codes)
    named = ", ".join(sorted(set(la_codes))) or "every ward"
    done = set(
        session.scalars(
            select(Snapshot.reference_date).where(
                Snapshot.kind == "reconstructed", Snapshot.scope == scope
            )
        )
    )
    taken, skipped = [], []
    for day in months(start, end):
        if day < first:
            skipped.append((day, f"before the first activity date, {first.isoformat()}"))
        elif day in done:
            skipped.append((day, "already reconstructed"))
        else:
            taken.append(
                take_snapshot(
                    session,
                    f"Reconstructed {day:%Y-%m} of {named}",
                    la_codes,
                    as_of=day,
                    kind="reconstructed",
                    user=user,
                    attribution=attribution,
                )
            )
    return taken, skipped
