"""Read-only data for the browser maps: wards simplified for display, compact markers, coverage.

The pages stay small because the maps fetch these; nothing here holds personal data: groups
and services are active ones with public fields only, and coordinator coverage is the union of
the patches with no names, contacts or counts.
"""

import copy
import threading
from collections import OrderedDict

import numpy as np
import shapely
from shapely.geometry import mapping
from sqlalchemy import func, literal, or_, select

from mapper import geo
from mapper.store import db, queries, version
from mapper.store.models import (
    Category,
    CommunityGroup,
    Coordinator,
    Service,
    Ward,
    group_categories,
    group_wards_served,
    service_categories,
)

# About 7 m east-west and 11 m north-south in the UK: invisible at ward scale, and it cuts
# full-resolution boundaries to a fifth of their vertices.
DISPLAY_TOLERANCE = 0.0001
DISPLAY_DECIMALS = 5  # about 1 m
# Groups in a neighbouring ward within this distance of a ward's boundary are "just over it".
NEARBY_METRES = 500
CACHE_SIZE = 32

_cache = OrderedDict()
_cache_lock = threading.Lock()


def simplify_coverage(geoms, tolerance=DISPLAY_TOLERANCE):
    """Return polygons simplified together, so that neighbours still meet along one edge."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return geoms
    simplified = shapely.coverage_simplify(geoms, tolerance)
    # A ward smaller than the tolerance may collapse; keep such a ward as it was.
    broken = shapely.is_empty(simplified) | ~shapely.is_valid(simplified)
    simplified[broken] = geoms[broken]
    return simplified


def cached(key, build):
    """Return the value kept under `key` in this process, or build and keep it."""
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = build()
    with _cache_lock:
        _cache[key] = value
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def wards_signature(session):
    """Return what changes whenever any ward is imported or edited."""
    count, latest = session.execute(select(func.count(Ward.id), func.max(Ward.updated_at))).one()
    return str(session.get_bind().url), count, str(latest)


def in_wards(query, la_codes, codes):
    """Narrow a query on wards to those of these local authorities and codes."""
    if la_codes:
        query = query.where(Ward.la_code.in_(la_codes))
    if codes:
        query = query.where(Ward.code.in_(codes))
    return query


def display_wards(session, la_codes=(), codes=(), lonlat_box=None):
    """Return GeoJSON features of the current wards in scope, by code, simplified for display.

    The wards are simplified as one coverage and cached until any ward changes.
    """
    la_codes, codes = tuple(sorted(la_codes)), tuple(sorted(codes))
    box = tuple(lonlat_box) if lonlat_box else None
    key = ("wards", wards_signature(session), la_codes, codes, box)

    def build():
        query = (
            select(Ward.code, Ward.name, Ward.la_code, Ward.la_name, func.ST_AsBinary(Ward.geom))
            .where(Ward.current)
            .order_by(Ward.code)
        )
        query = in_wards(query, la_codes, codes)
        if box:
            query = query.where(db.bbox_filter(Ward.geom, box, session))
        rows = session.execute(query).all()
        geoms = simplify_coverage(shapely.from_wkb([r[4] for r in rows]))
        return ward_features(rows, geoms, DISPLAY_DECIMALS)

    return cached(key, build)


def ward_features(rows, geoms, decimals):
    """Return the display features of (code, name, la_code, la_name, …) rows and geometries."""
    return [
        {
            "type": "Feature",
            "properties": {"ward_code": r[0], "ward_name": r[1], "la_code": r[2], "la_name": r[3]},
            "geometry": mapping(geo.for_rfc7946(g, decimals)),
        }
        for r, g in zip(rows, geoms, strict=True)
    ]


MARKER_FIELDS = ["id", "lon", "lat", "name"]
# How each kind of marker links to its categories.
CATEGORY_LINKS = {
    CommunityGroup: group_categories.c.group_id,
    Service: service_categories.c.service_id,
}


def _precision(model):
    if model is CommunityGroup:
        return CommunityGroup.location_precision
    return literal("exact")


def marker_query(session, model, columns, la_codes, ward_codes, categories, lonlat_box, where=()):
    """Return a SELECT of `columns` over the active `model` rows in scope (no order).

    A group published by ward only is never a marker; an approximate one is looked for a
    grid cell wider, since it is in the box when its published point is (`marker_rows`
    keeps those whose published point is)."""
    query = (
        select(*columns)
        .select_from(model)
        .where(model.status == "active", _precision(model) != "hidden", *where)
    )
    if categories:
        link = CATEGORY_LINKS[model]
        query = query.where(
            model.id.in_(
                select(link)
                .join(Category, Category.id == link.table.c.category_id)
                .where(Category.slug.in_(categories))
            )
        )
    if la_codes or ward_codes:
        query = in_wards(query.join(Ward, model.ward_id == Ward.id), la_codes, ward_codes)
    if lonlat_box:
        if model is CommunityGroup:
            lonlat_box = geo.expand_box(lonlat_box, 2 * geo.GRID_CELL_M)
        query = query.where(db.bbox_filter(model.geom, lonlat_box, session))
    return query


def marker_rows(session, query, model, lonlat_box=None):
    """Return [id, lon, lat, name] of the rows of a marker_query (made with marker_columns),
    by id, at their published points: those inside `lonlat_box` when it is given."""
    rows = session.execute(query.order_by(model.id)).all()
    if not rows:
        return []
    lons, lats = geo.published_lonlats(
        [r[1] for r in rows], [r[2] for r in rows], [r[4] for r in rows]
    )
    inside = np.ones(len(rows), dtype=bool)
    if lonlat_box:
        min_lon, min_lat, max_lon, max_lat = lonlat_box
        inside = (lons >= min_lon) & (lons <= max_lon) & (lats >= min_lat) & (lats <= max_lat)
    return [
        [row[0], round(float(lon), DISPLAY_DECIMALS), round(float(lat), DISPLAY_DECIMALS), row[3]]
        for row, lon, lat, keep in zip(rows, lons, lats, inside, strict=True)
        if keep
    ]


def marker_columns(model):
    """The columns of a marker row: id, lon, lat, name, and where its point is published."""
    return (model.id, func.ST_X(model.geom), func.ST_Y(model.geom), model.name, _precision(model))


def _markers(session, model, la_codes, ward_codes, categories, lonlat_box, where=()):
    query = marker_query(
        session, model, marker_columns(model), la_codes, ward_codes, categories, lonlat_box, where
    )
    return marker_rows(session, query, model, lonlat_box)


def group_markers(session, la_codes=(), ward_codes=(), categories=(), kinds=(), lonlat_box=None):
    """Return [id, lon, lat, name] of each active group in scope; details are fetched on click."""
    where = [CommunityGroup.kind.in_(kinds)] if kinds else []
    return _markers(
        session, CommunityGroup, la_codes, ward_codes, categories, lonlat_box, where=where
    )


def service_markers(session, la_codes=(), ward_codes=(), categories=(), lonlat_box=None):
    """Return [id, lon, lat, name] of each active service in scope."""
    return _markers(session, Service, la_codes, ward_codes, categories, lonlat_box)


def public_group(session, group_id):
    """Return an active group, or None."""
    group = session.get(CommunityGroup, group_id)
    return group if group is not None and group.status == "active" else None


def public_service(session, service_id):
    """Return an active service, or None."""
    service = session.get(Service, service_id)
    return service if service is not None and service.status == "active" else None


def coverage(session, lonlat_box=None):
    """Return the area inside any coordinator's patch, as one geometry (or None)."""
    query = select(func.ST_AsBinary(Coordinator.patch)).where(Coordinator.patch.is_not(None))
    if lonlat_box:
        query = query.where(db.bbox_filter(Coordinator.patch, lonlat_box, session))
    patches = shapely.from_wkb(list(session.scalars(query)))
    if len(patches) == 0:
        return None
    union = shapely.union_all(shapely.make_valid(patches))
    if lonlat_box:
        union = shapely.clip_by_rect(union, *lonlat_box)
    union = shapely.simplify(union, DISPLAY_TOLERANCE, preserve_topology=True)
    return None if union.is_empty else geo.for_rfc7946(union, DISPLAY_DECIMALS)


def scope_box(session, la_codes=(), codes=()):
    """Return the lon/lat box of the current wards in scope, or None when there are none."""
    query = in_wards(select(func.ST_AsBinary(Ward.geom)).where(Ward.current), la_codes, codes)
    geoms = shapely.from_wkb(list(session.scalars(query)))
    return tuple(shapely.total_bounds(geoms)) if len(geoms) else None


def nearby_groups(session, ward, ward_geom, metres=NEARBY_METRES):
    """Return [(group, metres)] of active groups in other wards near `ward`, nearest first."""
    lonlat_box = geo.expand_box(ward_geom.bounds, metres)
    query = (
        select(CommunityGroup, func.ST_AsBinary(CommunityGroup.geom))
        .where(
            CommunityGroup.status == "active",
            CommunityGroup.location_precision == "exact",  # a distance would tell where
            CommunityGroup.ward_id.is_not(None),
            CommunityGroup.ward_id != ward.id,
            db.bbox_filter(CommunityGroup.geom, lonlat_box, session),
        )
        .order_by(CommunityGroup.id)
    )
    rows = session.execute(query).all()
    if not rows:
        return []
    distances = geo.distances_m(ward_geom, shapely.from_wkb([r[1] for r in rows]))
    found = [(r[0], float(d)) for r, d in zip(rows, distances, strict=True) if d <= metres]
    return sorted(found, key=lambda pair: (pair[1], pair[0].id))


LIST_LIMIT = 40  # a page lists at most this many groups or services, and pages the rest
MAX_KINDS = 60


def _counted_page(session, model, where, limit, page):
    """Return (how many, the `page`-th `limit` of them by name) of the `model` rows `where`."""
    count = session.scalar(select(func.count(model.id)).where(*where))
    query = select(model).where(*where).order_by(model.name, model.id)
    if limit is not None:
        query = query.limit(limit).offset((page - 1) * limit)
    return count, list(session.scalars(query))


def listed(session, model, ward, limit=LIST_LIMIT, page=1):
    """Return (how many, the `page`-th `limit` of them by name) of the active groups or
    services based in a ward; every one when `limit` is None."""
    where = (model.ward_id == ward.id, model.status == "active")
    return _counted_page(session, model, where, limit, page)


def serving_groups(session, ward, limit=LIST_LIMIT, page=1):
    """Return (how many, a page by name) of the active groups based in another ward, or in
    none, that say they work in `ward`: the analysis's "groups from elsewhere"."""
    served = group_wards_served.c
    where = (
        CommunityGroup.id.in_(select(served.group_id).where(served.ward_id == ward.id)),
        CommunityGroup.status == "active",
        or_(CommunityGroup.ward_id.is_(None), CommunityGroup.ward_id != ward.id),
    )
    return _counted_page(session, CommunityGroup, where, limit, page)


def filter_choices(session):
    """Return the choices of the map's filters: local authorities, categories, group kinds.

    Kept per data version: grouping every active group by kind grows with the data, and the
    home page asks on every view.
    """
    return copy.deepcopy(
        version.per_version(session, "filter_choices", lambda: _filter_choices(session))
    )


def _filter_choices(session):
    las = session.execute(
        select(Ward.la_code, func.max(Ward.la_name))
        .where(Ward.current, Ward.la_code.is_not(None))
        .group_by(Ward.la_code)
        .order_by(func.max(Ward.la_name), Ward.la_code)
    ).all()
    categories = session.execute(select(Category.slug, Category.name).order_by(Category.name)).all()
    # Kinds are free text: offer the most used ones only, so the page stays small.
    kinds = queries.active_kinds(session, MAX_KINDS)
    return {
        "la": [(code, name or code) for code, name in las],
        "category": [tuple(row) for row in categories],
        "kind": [(kind, kind) for kind in sorted(kinds) if kind.strip()],
    }


def category_names(session):
    """Return {slug: display name} of the activity categories."""
    return dict(session.execute(select(Category.slug, Category.name)).all())
