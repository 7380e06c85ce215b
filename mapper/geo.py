"""Pure geometry helpers: ward location rule, areas, repair, RFC 7946 output.

Imports nothing of ours. Coordinates are lon/lat (EPSG:4326) unless a name says otherwise.
"""

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

SRID = 4326
WGS84 = "EPSG:4326"
# An equal-area projection for areas anywhere on Earth (World Cylindrical Equal Area).
EQUAL_AREA = "EPSG:6933"
COORDINATE_DECIMALS = 6  # about 0.1 m; RFC 7946 section 11.2


def locate(points, polygons, keys):
    """Return, for each point, the index of the polygon it belongs to, or -1 for none.

    The ward assignment rule: a point belongs to a polygon that covers it (inside or on the
    edge). A point covered by several — on a boundary two wards share — belongs to the one
    with the smallest key (the lowest ONS code), so it is counted exactly once.
    """
    points = np.asarray(points, dtype=object)
    result = np.full(len(points), -1, dtype=np.int64)
    if len(points) == 0 or len(polygons) == 0:
        return result
    tree = shapely.STRtree(polygons)
    point_idx, polygon_idx = tree.query(points, predicate="intersects")
    if len(point_idx) == 0:
        return result
    # Sort hits by point, then by key, and keep the first hit of each point.
    order = np.argsort(np.asarray(keys, dtype=object)).argsort()
    by_point_then_key = np.lexsort((order[polygon_idx], point_idx))
    point_idx, polygon_idx = point_idx[by_point_then_key], polygon_idx[by_point_then_key]
    first = np.unique(point_idx, return_index=True)[1]
    result[point_idx[first]] = polygon_idx[first]
    return result


def lonlat_point(lonlat):
    lon, lat = lonlat
    return Point(float(lon), float(lat))


def as_multipolygon(geom):
    """Return a MultiPolygon holding the polygonal parts of `geom`."""
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon | MultiPolygon)]
    polygons = []
    for part in parts:
        polygons.extend(part.geoms if isinstance(part, MultiPolygon) else [part])
    return MultiPolygon(polygons)


def repair(geom):
    """Return (valid MultiPolygon, reason it was invalid or None)."""
    if shapely.is_valid(geom):
        return as_multipolygon(geom), None
    reason = shapely.is_valid_reason(geom)
    return as_multipolygon(shapely.make_valid(geom)), reason


def areas_km2(geoseries):
    """Return the areas of a lon/lat GeoSeries in square kilometres."""
    return geoseries.to_crs(EQUAL_AREA).area / 1e6


def for_rfc7946(geom, decimals=COORDINATE_DECIMALS):
    """Return `geom` with exterior rings counter-clockwise and coordinates rounded."""
    geom = shapely.transform(geom, lambda xy: np.round(xy, decimals))
    return shapely.orient_polygons(geom, exterior_cw=False)


EARTH_RADIUS_M = 6_371_008.8  # the mean radius


def distance_m(lonlat_a, lonlat_b):
    """Return the great-circle distance in metres between two lon/lat points."""
    lon1, lat1, lon2, lat2 = np.radians([*lonlat_a, *lonlat_b])
    a = np.sin((lat2 - lat1) / 2) ** 2
    a += np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return float(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a)))


def looks_like_bng(x, y):
    """Tell whether a pair outside lon/lat range looks like British National Grid metres."""
    return 180 < x <= 700_000 and 90 < y <= 1_300_000
