"""Wards: locating points in them, coordinator coverage, boundary vintages and ward figures.

A group's or service's ward is derived from its location whenever it is flushed (see
`_derive_wards`), so no code path can type one in.
"""

import dataclasses
import re
from collections import defaultdict
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import bindparam, event, func, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from mapper import geo
from mapper.store import db
from mapper.store.db import to_wkb_element
from mapper.store.models import (
    CommunityGroup,
    Coordinator,
    Service,
    Ward,
)

# A ward is replaced by wards of a newer vintage that cover more than this share of it.
SUPERSEDED_SHARE = 0.5


# The number of LSOAs ranked by IMD 2015 and 2019 in England (LSOA 2011).
ENGLAND_LSOAS = 32_844


def current_wards(session, lonlat_box=None):
    """Return (ids, codes, polygons) of the current wards, optionally only those in a box."""
    query = select(Ward.id, Ward.code, func.ST_AsBinary(Ward.geom)).where(Ward.current)
    if lonlat_box is not None:
        query = query.where(db.bbox_filter(Ward.geom, lonlat_box, session))
    rows = session.execute(query).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    codes = [r[1] for r in rows]
    polygons = shapely.from_wkb([r[2] for r in rows]) if rows else np.array([])
    return ids, codes, polygons


def locate_wards(session, points):
    """Return the current ward id for each shapely point (None where no ward covers it)."""
    points = np.asarray(points, dtype=object)
    if len(points) == 0:
        return []
    min_lon, min_lat, max_lon, max_lat = shapely.total_bounds(points)
    ids, codes, polygons = current_wards(session, (min_lon, min_lat, max_lon, max_lat))
    found = geo.locate(points, polygons, codes)
    return [int(ids[i]) if i >= 0 else None for i in found]


def find_ward(session, lonlat):
    """Return the current Ward a lon/lat point belongs to, or None."""
    (ward_id,) = locate_wards(session, [geo.lonlat_point(lonlat)])
    return session.get(Ward, ward_id) if ward_id is not None else None


@event.listens_for(Session, "before_flush")
def _derive_wards(session, _flush_context, _instances):
    """Set the ward of every new or moved group and service from its location."""
    moved = [
        obj
        for obj in (*session.new, *session.dirty)
        if isinstance(obj, CommunityGroup | Service)
        and (obj in session.new or inspect(obj).attrs.geom.history.has_changes())
    ]
    if not moved:
        return
    ward_ids = locate_wards(session, [to_shape(obj.geom) for obj in moved])
    for obj, ward_id in zip(moved, ward_ids, strict=True):
        obj.ward_id = ward_id


def update_coordinator_coverage(session, lonlat_box=None):
    """Recompute `Ward.coordinator_coverage` of the wards meeting a box (all without one).

    Bulk paths that write coordinators or wards with Core statements call this themselves;
    ORM changes are caught by the flush hooks below. Returns how many wards were measured.
    """
    query = select(Ward.id, func.ST_AsBinary(Ward.geom))
    if lonlat_box is not None:
        query = query.where(db.bbox_filter(Ward.geom, lonlat_box, session))
    rows = session.execute(query).all()
    if not rows:
        return 0
    polygons = shapely.from_wkb([r[1] for r in rows])
    patches = session.scalars(
        select(func.ST_AsBinary(Coordinator.patch)).where(
            Coordinator.patch.is_not(None),
            db.bbox_filter(Coordinator.patch, shapely.total_bounds(polygons), session),
        )
    ).all()
    shares = geo.coverage_shares(polygons, shapely.from_wkb(patches))
    table = Ward.__table__
    session.execute(
        table.update()
        .where(table.c.id == bindparam("b_id"))
        .values(coordinator_coverage=bindparam("b_share")),
        [{"b_id": r[0], "b_share": float(s)} for r, s in zip(rows, shares, strict=True)],
    )
    for (ward_id, _), share in zip(rows, shares, strict=True):
        ward = session.identity_map.get(identity_key(Ward, ward_id))
        if ward is not None:
            set_committed_value(ward, "coordinator_coverage", float(share))
    return len(rows)


@event.listens_for(Session, "before_flush")
def _note_coverage_changes(session, _flush_context, _instances):
    """Remember where coordinators' patches or wards' boundaries change in this flush."""
    changed = []
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Coordinator):
            attribute, history = "patch", inspect(obj).attrs.patch.history
        elif isinstance(obj, Ward):
            attribute, history = "geom", inspect(obj).attrs.geom.history
        else:
            continue
        if obj in session.dirty and not history.has_changes():
            continue
        values = [*history.deleted, getattr(obj, attribute)]
        changed += [to_shape(v) for v in values if v is not None]
    if changed:
        session.info.setdefault("coverage_changes", []).extend(changed)


@event.listens_for(Session, "after_flush_postexec")
def _update_coverage(session, _flush_context):
    changed = session.info.pop("coverage_changes", None)
    if changed:
        update_coordinator_coverage(session, shapely.total_bounds(changed))


def reassign_wards(session):
    """Derive again the ward of every group and service; return how many moved."""
    moved = 0
    for model in (CommunityGroup, Service):
        rows = session.execute(select(model.id, model.ward_id, func.ST_AsBinary(model.geom))).all()
        if not rows:
            continue
        ward_ids = locate_wards(session, shapely.from_wkb([r[2] for r in rows]))
        changes = [
            {"id": r[0], "ward_id": w} for r, w in zip(rows, ward_ids, strict=True) if r[1] != w
        ]
        if changes:
            table = model.__table__
            session.execute(
                table.update()
                .where(table.c.id == bindparam("b_id"))
                .values(ward_id=bindparam("b_ward")),
                [{"b_id": c["id"], "b_ward": c["ward_id"]} for c in changes],
            )
        moved += len(changes)
    return moved


def save_wards(session, frame):
    """Insert or update wards by (code, vintage) from a lon/lat GeoDataFrame.

    Columns: code, name, vintage, and optionally la_code, la_name, population and imd_*.
    Returns (added, updated); a ward that changes nothing is neither.
    """
    frame = frame.to_crs(geo.WGS84)
    geoms = [geo.repair(g)[0] for g in frame.geometry]
    areas = geo.areas_km2(gpd.GeoSeries(geoms, crs=geo.WGS84))
    existing = {
        (w.code, w.vintage): w
        for w in session.scalars(
            select(Ward).where(
                Ward.vintage.in_(set(frame["vintage"].astype(str))),
                Ward.code.in_(set(frame["code"])),
            )
        )
    }
    columns = [c for c in frame.columns if c in Ward.__table__.columns and c != "geom"]
    added = updated = 0
    for row, geom, area in zip(frame.to_dict("records"), geoms, areas, strict=True):
        values = {c: _plain(row[c]) for c in columns}
        values["vintage"] = str(values["vintage"])
        values.update(
            geom=to_wkb_element(geom),
            label_point=to_wkb_element(shapely.point_on_surface(geom)),
            area_km2=float(area),
        )
        ward = existing.get((values["code"], values["vintage"]))
        if ward is None:
            session.add(Ward(**values))
            added += 1
        else:
            with session.no_autoflush:
                for key, value in values.items():
                    setattr(ward, key, value)
                updated += session.is_modified(ward)
    return added, updated


def _plain(value):
    """Turn numpy/pandas scalars and NaN into plain Python values for the database."""
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


# --- boundary imports, vintages and figures -----------------------------------------


@dataclass
class WardChanges:
    """What a boundary import changed among the current wards where it lies."""

    added: list = dataclasses.field(default_factory=list)  # (code, name) current now, not before
    removed: list = dataclasses.field(default_factory=list)  # current before, not now
    # current before and now, with a new name or shape
    changed: list = dataclasses.field(default_factory=list)
    moved: int = 0  # groups and services whose ward changed
    retired_on_arrival: int = 0  # imported wards older than the current ones there


def import_wards(session, frame, progress=None, chunk=200):
    """Save wards, retire the older ones they replace, and derive again the ward of every
    group and service. Returns (added, updated, WardChanges)."""
    frame = frame.to_crs(geo.WGS84)
    box = frame.total_bounds
    before = _current_ward_shapes(session, box)
    added = updated = 0
    for start in range(0, len(frame), chunk):
        part = frame.iloc[start : start + chunk]
        counts = save_wards(session, part)
        added, updated = added + counts[0], updated + counts[1]
        if progress:
            progress(len(part))
    session.flush()
    changes = WardChanges()
    for vintage, codes in frame.groupby(frame["vintage"].astype(str))["code"]:
        changes.retired_on_arrival += retire_superseded(session, vintage, list(codes))
    session.flush()
    changes.moved = reassign_wards(session)
    after = _current_ward_shapes(session, box)
    changes.added = [(c, after[c][0]) for c in sorted(after.keys() - before.keys())]
    changes.removed = [(c, before[c][0]) for c in sorted(before.keys() - after.keys())]
    changes.changed = [
        (c, after[c][0])
        for c in sorted(before.keys() & after.keys())
        if before[c][0] != after[c][0] or not _same_shape(before[c][1], after[c][1])
    ]
    return added, updated, changes


def _current_ward_shapes(session, lonlat_box):
    """Return {code: (name, WKB)} of the current wards in a box."""
    query = select(Ward.code, Ward.name, func.ST_AsBinary(Ward.geom)).where(
        Ward.current, db.bbox_filter(Ward.geom, lonlat_box, session)
    )
    return {code: (name, bytes(wkb)) for code, name, wkb in session.execute(query)}


def _same_shape(wkb, other):
    return wkb == other or shapely.equals(shapely.from_wkb(wkb), shapely.from_wkb(other))


def vintage_key(vintage):
    """Order vintages by their first four-digit year, then as text ("May 2023" > "2022")."""
    years = re.findall(r"\d{4}", vintage)
    return (int(years[0]) if years else 0, vintage)


def retire_superseded(session, vintage, codes):
    """Retire the current wards that the wards `codes` of `vintage` replace.

    Current wards of different vintages overlap when they share a code or when more than
    SUPERSEDED_SHARE of one's area lies in the other set. Of overlapping wards the older
    vintage is retired: usually those that were there before, but wards older than the
    current ones where they lie are retired on arrival. Returns how many of `codes` were.
    """
    new = list(
        session.scalars(
            select(Ward).where(Ward.current, Ward.vintage == vintage, Ward.code.in_(codes))
        )
    )
    if not new:
        return 0
    new_shapes = [to_shape(w.geom) for w in new]
    box = shapely.total_bounds(new_shapes)
    others = list(
        session.scalars(
            select(Ward).where(
                Ward.current, Ward.vintage != vintage, db.bbox_filter(Ward.geom, box, session)
            )
        )
    )
    key = vintage_key(vintage)
    older = [w for w in others if vintage_key(w.vintage) < key]
    newer = [w for w in others if vintage_key(w.vintage) > key]
    for ward in _replaced(older, new, new_shapes):
        ward.current = False
    newer_shapes = [to_shape(w.geom) for w in newer]
    retired = _replaced(new, newer, newer_shapes)
    for ward in retired:
        ward.current = False
    return len(retired)


def _replaced(wards, by, by_shapes):
    """Return the `wards` that the (non-overlapping) wards `by` replace."""
    if not wards or not by:
        return []
    codes = {w.code for w in by}
    tree = shapely.STRtree(by_shapes)
    replaced = []
    for ward in wards:
        shape = to_shape(ward.geom)
        hits = tree.query(shape, predicate="intersects")
        inside = sum(shapely.intersection(shape, by_shapes[i]).area for i in hits)
        if ward.code in codes or (shape.area and inside / shape.area > SUPERSEDED_SHARE):
            replaced.append(ward)
    return replaced


def save_ward_figures(session, rows):
    """Set figures (population, imd_*) on every ward, of any vintage, with each row's code.

    Returns (updated, unchanged) counted by row; codes with no ward are ignored (see
    queries.known_ward_codes).
    """
    wards = defaultdict(list)
    codes = [row["code"] for row in rows]
    for ward in session.scalars(select(Ward).where(Ward.code.in_(codes))):
        wards[ward.code].append(ward)
    updated = 0
    with session.no_autoflush:
        for row in rows:
            changed = False
            for ward in wards[row["code"]]:
                for key, value in row.items():
                    if key != "code":
                        setattr(ward, key, _plain(value))
                changed = session.is_modified(ward) or changed
            updated += changed
    return updated, len(rows) - updated


def imd_by_ward(lsoas, lsoa_count=ENGLAND_LSOAS):
    """Derive ward figures from LSOAs (dicts with ward_id and rank, decile and/or score).

    Per ward (see docs/imd.md): imd_rank is the mean LSOA rank, imd_score the mean score,
    imd_share_10pct/20pct the share of its LSOAs in the most deprived 10%/20% nationally,
    and imd_decile the national decile of the mean rank (without ranks, the median decile).
    """
    by_ward = defaultdict(list)
    for lsoa in lsoas:
        by_ward[lsoa["ward_id"]].append(lsoa)
    figures = {}
    for ward_id, group in by_ward.items():
        ranks = [g["rank"] for g in group if g.get("rank") is not None]
        deciles = [
            g["decile"] if g.get("decile") is not None else _decile(g["rank"], lsoa_count)
            for g in group
            if g.get("decile") is not None or g.get("rank") is not None
        ]
        scores = [g["score"] for g in group if g.get("score") is not None]
        result = {}
        if ranks:
            result["imd_rank"] = round(sum(ranks) / len(ranks), 1)
            result["imd_decile"] = _decile(sum(ranks) / len(ranks), lsoa_count)
        elif deciles:
            result["imd_decile"] = int(sorted(deciles)[(len(deciles) - 1) // 2])
        if deciles:
            result["imd_share_10pct"] = round(sum(d <= 1 for d in deciles) / len(deciles), 4)
            result["imd_share_20pct"] = round(sum(d <= 2 for d in deciles) / len(deciles), 4)
        if scores:
            result["imd_score"] = round(sum(scores) / len(scores), 3)
        figures[ward_id] = result
    return figures


def _decile(rank, lsoa_count):
    """The national decile (1 = most deprived 10%) of a rank among `lsoa_count` LSOAs."""
    return min(10, max(1, int(np.ceil(rank * 10 / lsoa_count))))


def save_imd_by_lsoa(session, lsoas, lsoa_count=ENGLAND_LSOAS):
    """Save the ward figures derived from LSOAs that carry their ward_id.

    Returns (updated, unchanged) counted by ward.
    """
    figures = imd_by_ward(lsoas, lsoa_count)
    updated = 0
    with session.no_autoflush:
        for ward in session.scalars(select(Ward).where(Ward.id.in_(figures))):
            for key, value in figures[ward.id].items():
                setattr(ward, key, value)
            updated += session.is_modified(ward)
    return updated, len(figures) - updated
