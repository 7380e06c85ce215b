"""Read-only data for the browser maps: wards simplified for display, compact markers, coverage.

The pages stay small because the maps fetch these; nothing here holds personal data: groups
and services are active ones with public fields only, and coordinator coverage is the union of
the patches with no names, contacts or counts.
"""

import threading
from collections import OrderedDict

import numpy as np
import shapely
from shapely.geometry import mapping
from sqlalchemy import func, select

from mapper import db, geo
from mapper.models import (
    Category,
    CommunityGroup,
    Coordinator,
    Service,
    Ward,
    group_categories,
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


def _cached(key, build):
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


def _wards_signature(session):
    """Return what changes whenever any ward is imported or edited."""
    count, latest = session.execute(select(func.count(Ward.id), func.max(Ward.updated_at))).one()
    return str(session.get_bind().url), count, str(latest)


def _in_wards(query, la_codes, codes):
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
    key = ("wards", _wards_signature(session), la_codes, codes, box)

    def build():
        query = (
            select(Ward.code, Ward.name, Ward.la_code, Ward.la_name, func.ST_AsBinary(Ward.geom))
            .where(Ward.current)
            .order_by(Ward.code)
        )
        query = _in_wards(query, la_codes, codes)
        if box:
            query = query.where(db.bbox_filter(Ward.geom, box, session))
        rows = session.execute(query).all()
        geoms = simplify_coverage(shapely.from_wkb([r[4] for r in rows]))
        return [
            {
                "type": "Feature",
                "properties": {
                    "ward_code": r[0],
                    "ward_name": r[1],
                    "la_code": r[2],
                    "la_name": r[3],
                },
                "geometry": mapping(geo.for_rfc7946(g, DISPLAY_DECIMALS)),
            }
            for r, g in zip(rows, geoms, strict=True)
        ]

    return _cached(key, build)


# How each kind of marker links to its categories.
CATEGORY_LINKS = {
    CommunityGroup: group_categories.c.group_id,
    Service: service_categories.c.service_id,
}


def _markers(session, model, la_codes, ward_codes, categories, lonlat_box, where=()):
    query = select(model.id, func.ST_X(model.geom), func.ST_Y(model.geom), model.name).where(
        model.status == "active", *where
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
        query = _in_wards(query.join(Ward, model.ward_id == Ward.id), la_codes, ward_codes)
    if lonlat_box:
        query = query.where(db.bbox_filter(model.geom, lonlat_box, session))
    return [
        [row[0], round(row[1], DISPLAY_DECIMALS), round(row[2], DISPLAY_DECIMALS), row[3]]
        for row in session.execute(query.order_by(model.id))
    ]


def group_markers(session, la_codes=(), ward_codes=(), categories=(), kinds=(), lonlat_box=None):
    """Return [id, lon, lat, name] of each active group in scope; details are fetched on click."""
    where = [CommunityGroup.kind.in_(kinds)] if kinds else []
    return _markers(
        session, CommunityGroup, la_codes, ward_codes, categories, lonlat_box, where=where
    )


def service_markers(session, la_codes=(), ward_codes=(), categories=(), lonlat_box=None):
    """Return [id, lon, lat, name] of each active service in scope."""
    return _markers(session, Service, la_codes, ward_codes, categories, lonlat_box)


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
    query = _in_wards(select(func.ST_AsBinary(Ward.geom)).where(Ward.current), la_codes, codes)
    geoms = shapely.from_wkb(list(session.scalars(query)))
    return tuple(shapely.total_bounds(geoms)) if len(geoms) else None


def nearby_groups(session, ward, ward_geom, metres=NEARBY_METRES):
    """Return [(group, metres)] of active groups in other wards near `ward`, nearest first."""
    lonlat_box = geo.expand_box(ward_geom.bounds, metres)
    query = (
        select(CommunityGroup, func.ST_AsBinary(CommunityGroup.geom))
        .where(
            CommunityGroup.status == "active",
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


LIST_LIMIT = 40  # a page lists at most this many groups or services, and says how many more
MAX_KINDS = 60


def listed(session, model, ward, limit=LIST_LIMIT):
    """Return (how many, the first `limit` by name) of the active groups or services in a ward."""
    where = (model.ward_id == ward.id, model.status == "active")
    count = session.scalar(select(func.count(model.id)).where(*where))
    first = session.scalars(select(model).where(*where).order_by(model.name, model.id).limit(limit))
    return count, list(first)


def filter_choices(session):
    """Return the choices of the map's filters: local authorities, categories, group kinds."""
    las = session.execute(
        select(Ward.la_code, func.max(Ward.la_name))
        .where(Ward.current, Ward.la_code.is_not(None))
        .group_by(Ward.la_code)
        .order_by(func.max(Ward.la_name), Ward.la_code)
    ).all()
    categories = session.execute(select(Category.slug, Category.name).order_by(Category.name)).all()
    # Kinds are free text: offer the most used ones only, so the page stays small.
    kinds = session.scalars(
        select(CommunityGroup.kind)
        .where(CommunityGroup.status == "active", CommunityGroup.kind.is_not(None))
        .group_by(CommunityGroup.kind)
        .order_by(func.count().desc(), CommunityGroup.kind)
        .limit(MAX_KINDS)
    ).all()
    return {
        "la": [(code, name or code) for code, name in las],
        "category": [tuple(row) for row in categories],
        "kind": [(kind, kind) for kind in sorted(kinds) if kind.strip()],
    }


def category_names(session):
    """Return {slug: display name} of the activity categories."""
    return dict(session.execute(select(Category.slug, Category.name)).all())
