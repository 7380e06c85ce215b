"""Pure geometry helpers: ward location rule, areas, repair, RFC 7946 output.

Imports nothing of ours. Coordinates are lon/lat (EPSG:4326) unless a name says otherwise.
"""

import numpy as np
import shapely
from pyproj import Transformer
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


# Slightly fewer metres than any degree of latitude (110.6-111.7 km) or of longitude at the
# equator, so that boxes grown with it are never too small.
METRES_PER_DEGREE = 110_000


def expand_box(lonlat_box, metres):
    """Return a lon/lat box grown by at least `metres` on every side."""
    min_lon, min_lat, max_lon, max_lat = lonlat_box
    dlat = metres / METRES_PER_DEGREE
    widest_lat = min(max(abs(min_lat), abs(max_lat)) + dlat, 89.0)
    dlon = metres / (METRES_PER_DEGREE * np.cos(np.radians(widest_lat)))
    return (
        max(min_lon - dlon, -180.0),
        max(min_lat - dlat, -90.0),
        min(max_lon + dlon, 180.0),
        min(max_lat + dlat, 90.0),
    )


def distances_m(geom, points):
    """Return the distance in metres from `geom` to each lon/lat point (0 inside it)."""
    centre = geom.centroid
    local = f"+proj=aeqd +lat_0={centre.y} +lon_0={centre.x} +units=m +ellps=WGS84"
    transformer = Transformer.from_crs(WGS84, local, always_xy=True)

    def project(xy):
        return np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))

    return shapely.distance(shapely.transform(geom, project), shapely.transform(points, project))


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
