"""Use cases that change data: save wards, groups, services and coordinators; audit.

A group's or service's ward is derived from its location whenever it is flushed (see
`_derive_wards`), so no code path can type one in.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import bindparam, event, func, insert, inspect, select, update
from sqlalchemy.orm import Session

from mapper import db, geo, queries
from mapper.models import (
    AuditEvent,
    Category,
    CommunityGroup,
    Coordinator,
    Organisation,
    Postcode,
    Service,
    Ward,
    location_column,
)

# Records without an external id are the same record when their names are equal and their
# locations this close (postcode centroids and geocoders disagree by a few metres).
MATCH_METRES = 5.0
# A ward is replaced by wards of a newer vintage that cover more than this share of it.
SUPERSEDED_SHARE = 0.5
# The number of LSOAs ranked by IMD 2015 and 2019 in England (LSOA 2011).
ENGLAND_LSOAS = 32_844


def to_wkb_element(geom):
    """Return a shapely geometry as a GeoAlchemy2 element in EPSG:4326, on the stored grid."""
    return from_shape(geo.on_grid(geom), srid=geo.SRID, extended=True)


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


def record(session, action, entity, user=None, changes=None, reason=None):
    """Add an audit event for `entity`, which must already have an id."""
    session.add(
        AuditEvent(
            action=action,
            entity_type=entity.__tablename__,
            entity_id=entity.id,
            user_id=user.id if user else None,
            changes=changes,
            reason=reason,
        )
    )


def get_or_create_organisation(session, name, **values):
    """Return the organisation called `name`, creating it if needed."""
    organisation = session.scalar(select(Organisation).where(Organisation.name == name))
    if organisation is None:
        organisation = Organisation(name=name, **values)
        session.add(organisation)
    return organisation


def categories_by_slug(session, slugs):
    """Return the categories with these slugs; raise KeyError naming any unknown slug."""
    slugs = list(dict.fromkeys(slugs))
    found = {c.slug: c for c in session.scalars(select(Category).where(Category.slug.in_(slugs)))}
    unknown = [s for s in slugs if s not in found]
    if unknown:
        raise KeyError(", ".join(unknown))
    return [found[s] for s in slugs]


def current_wards_by_code(session, codes):
    """Return the current wards with these codes; raise KeyError naming any unknown code."""
    codes = list(dict.fromkeys(codes))
    if not codes:
        return []
    found = {
        w.code: w for w in session.scalars(select(Ward).where(Ward.current, Ward.code.in_(codes)))
    }
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise KeyError(", ".join(unknown))
    return [found[c] for c in codes]


def save_postcodes(session, rows):
    """Insert or update postcode centroids (dicts with postcode, lon, lat).

    Returns (added, updated); a postcode whose centroid is unchanged is neither.
    """
    wanted = {Postcode.normalise(r["postcode"]): (float(r["lon"]), float(r["lat"])) for r in rows}
    stored = queries.postcode_lonlats(session, wanted)
    new = [
        {"postcode": code, "lon": lon, "lat": lat}
        for code, (lon, lat) in wanted.items()
        if code not in stored
    ]
    moved = [
        {"postcode": code, "lon": lon, "lat": lat}
        for code, (lon, lat) in wanted.items()
        if code in stored and stored[code] != (lon, lat)
    ]
    if new:
        session.execute(insert(Postcode), new)
    if moved:
        session.execute(update(Postcode), moved)
    return len(new), len(moved)


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


def save_located(session, model, records, organisation=None, user=None, defaults=None):
    """Insert or update groups, services or coordinators.

    A record is the stored one with its `external_id`; one without is the stored one, also
    without, that has the same name within MATCH_METRES of its location. Each record holds
    column values; geometry columns hold shapely geometries in lon/lat, `categories` holds
    category slugs, `wards_served` ward codes and `employer` an organisation's name.
    `defaults` (such as a status) and `organisation` are set only on the records created.
    Returns (added, updated); a record that changes nothing is neither.
    """
    geometry_columns = {c.name for c in model.__table__.columns if hasattr(c.type, "srid")}
    matcher = _Matcher(session, model, records)
    saved, seen = [], set()
    for row in records:
        values = dict(row)
        obj = matcher.find(values)
        for column in geometry_columns & values.keys():
            if values[column] is not None:
                values[column] = to_wkb_element(values[column])
        if "categories" in values:
            values["categories"] = categories_by_slug(session, values["categories"])
        if "wards_served" in values:
            values["wards_served"] = current_wards_by_code(session, values["wards_served"])
        if values.get("employer"):
            values["employer"] = get_or_create_organisation(session, values["employer"])
        if obj is None:
            given = {key: value for key, value in values.items() if value is not None}
            obj = model(**{**(defaults or {}), **given})
            if organisation is not None:
                obj.organisation = organisation
            session.add(obj)
            matcher.remember(obj, row)
            saved.append(("create", obj))
            seen.add(id(obj))
        else:
            # No autoflush: loading the old categories would flush the new name first and
            # hide the change from is_modified.
            with session.no_autoflush:
                for key, value in values.items():
                    setattr(obj, key, value)
                if session.is_modified(obj) and id(obj) not in seen:  # once per record
                    saved.append(("update", obj))
                    seen.add(id(obj))
    session.flush()
    for action, obj in saved:
        record(session, action, obj, user=user, changes={"source": "import"})
    added = sum(1 for action, _ in saved if action == "create")
    return added, len(saved) - added


class _Matcher:
    """Finds the stored (or just created) record a row describes."""

    def __init__(self, session, model, rows):
        self.column = location_column(model)
        ids = [r["external_id"] for r in rows if r.get("external_id")]
        names = [r["name"] for r in rows if not r.get("external_id")]
        self.by_id = {}
        self.by_name = defaultdict(list)
        if ids:
            for obj in session.scalars(select(model).where(model.external_id.in_(ids))):
                self.by_id[obj.external_id] = obj
        if names:
            query = select(model).where(model.name.in_(names), model.external_id.is_(None))
            for obj in session.scalars(query):
                self.remember(obj, None)

    def remember(self, obj, row):
        if obj.external_id:
            self.by_id[obj.external_id] = obj
            return
        geom = getattr(obj, self.column) if row is None else row.get(self.column)
        if geom is not None and not isinstance(geom, shapely.Geometry):
            geom = to_shape(geom)
        self.by_name[obj.name].append((obj, geom))

    def find(self, row):
        if row.get("external_id"):
            return self.by_id.get(row["external_id"])
        point = row.get(self.column)
        for obj, stored in self.by_name.get(row["name"], ()):
            if point is None or stored is None:
                if point is None and stored is None:
                    return obj
            elif geo.distance_m(point, stored) <= MATCH_METRES:
                return obj
        return None


def check_located(session, model, rows):
    """Return, for each row, why it cannot be saved (None when it can).

    Groups and services must lie in a current ward; wards they serve must be current.
    """
    if model is Coordinator or not rows:
        return [None] * len(rows)
    ward_ids = locate_wards(session, [row["geom"] for row in rows])
    served = {code for row in rows for code in row.get("wards_served") or ()}
    known = {
        code
        for (code,) in session.execute(select(Ward.code).where(Ward.current, Ward.code.in_(served)))
    }
    reasons = []
    for row, ward_id in zip(rows, ward_ids, strict=True):
        unknown = [c for c in row.get("wards_served") or () if c not in known]
        if ward_id is None:
            point = row["geom"]
            reasons.append(
                f"outside every known ward at {point.x:.6f}, {point.y:.6f} ({row['name']})"
            )
        elif unknown:
            reasons.append("wards_served names unknown wards: " + ", ".join(unknown))
        else:
            reasons.append(None)
    return reasons


# --- wards: boundaries, vintages and figures -----------------------------------------


@dataclass
class WardChanges:
    """What a boundary import changed among the current wards where it lies."""

    added: list = field(default_factory=list)  # (code, name) current now, not before
    removed: list = field(default_factory=list)  # current before, not now
    changed: list = field(default_factory=list)  # current before and now; new name or shape
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
