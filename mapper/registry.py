"""Use cases that change data: save wards, groups, services and coordinators; audit.

A group's or service's ward is derived from its location whenever it is flushed (see
`_derive_wards`), so no code path can type one in.
"""

import geopandas as gpd
import numpy as np
import shapely
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import bindparam, event, func, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from mapper import db, geo
from mapper.models import (
    AuditEvent,
    Category,
    CommunityGroup,
    Coordinator,
    Organisation,
    Postcode,
    Service,
    Ward,
)


def to_wkb_element(geom):
    """Return a shapely geometry as a GeoAlchemy2 element in EPSG:4326."""
    return from_shape(geom, srid=geo.SRID, extended=True)


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
    """Insert or update postcode centroids (dicts with postcode, lon, lat); return the count."""
    existing = {p.postcode: p for p in session.scalars(select(Postcode))}
    for row in rows:
        code = Postcode.normalise(row["postcode"])
        postcode = existing.get(code) or Postcode(postcode=code)
        postcode.lon, postcode.lat = float(row["lon"]), float(row["lat"])
        session.add(postcode)
    return len(rows)


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
            select(Ward).where(Ward.vintage.in_(set(frame["vintage"].astype(str))))
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


def save_located(session, model, records, organisation=None, user=None):
    """Insert or update groups, services or coordinators matched on `external_id`.

    Each record holds column values; geometry columns hold shapely geometries in lon/lat,
    `categories` holds category slugs, `wards_served` ward codes and `employer` an
    organisation's name. Returns (added, updated); a record that changes nothing is neither.
    """
    geometry_columns = {c.name for c in model.__table__.columns if hasattr(c.type, "srid")}
    external_ids = [r["external_id"] for r in records if r.get("external_id")]
    existing = {
        obj.external_id: obj
        for obj in session.scalars(select(model).where(model.external_id.in_(external_ids)))
    }
    saved = []
    for row in records:
        values = dict(row)
        for column in geometry_columns & values.keys():
            if values[column] is not None:
                values[column] = to_wkb_element(values[column])
        if "categories" in values:
            values["categories"] = categories_by_slug(session, values["categories"])
        if "wards_served" in values:
            values["wards_served"] = current_wards_by_code(session, values["wards_served"])
        if values.get("employer"):
            values["employer"] = get_or_create_organisation(session, values["employer"])
        obj = existing.get(values.get("external_id"))
        if obj is None:
            obj = model(**values)
            if organisation is not None:
                obj.organisation = organisation
            session.add(obj)
            saved.append(("create", obj))
        else:
            # No autoflush: loading the old categories would flush the new name first and
            # hide the change from is_modified.
            with session.no_autoflush:
                for key, value in values.items():
                    setattr(obj, key, value)
                if session.is_modified(obj):
                    saved.append(("update", obj))
    session.flush()
    for action, obj in saved:
        record(session, action, obj, user=user, changes={"source": "import"})
    added = sum(1 for action, _ in saved if action == "create")
    return added, len(saved) - added
