"""Pure geometry helpers: ward location rule, CRS recognition, reprojection, repair, RFC 7946.

Imports nothing of ours. Coordinates are lon/lat (EPSG:4326) unless a name says otherwise.
"""

import math
from functools import lru_cache

import numpy as np
import pyproj
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

SRID = 4326
WGS84 = "EPSG:4326"
BNG = 27700  # British National Grid: easting/northing in metres
# Boxes that hold the United Kingdom with a margin: lon/lat degrees, and BNG metres.
UK_LONLAT_BOX = (-9.5, 49.0, 2.5, 61.5)
BNG_BOX = (0, 0, 700_000, 1_300_000)
# An equal-area projection for areas anywhere on Earth (World Cylindrical Equal Area).
EQUAL_AREA = "EPSG:6933"
COORDINATE_DECIMALS = 6  # about 0.1 m; RFC 7946 section 11.2
STORED_DECIMALS = 7  # about 1 cm: stored coordinates read back exactly (see on_grid)


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
    """Return (valid 2D MultiPolygon, reason it was invalid or None)."""
    geom = shapely.force_2d(geom)
    if shapely.is_valid(geom):
        return as_multipolygon(geom), None
    reason = shapely.is_valid_reason(geom)
    return as_multipolygon(shapely.make_valid(geom)), reason


def on_grid(geom, decimals=STORED_DECIMALS):
    """Return `geom` with its coordinates rounded to `decimals`, polygons still valid.

    Coordinates are stored on this grid so that they read back exactly from both backends
    (SpatiaLite receives geometry as text), and importing the same file again changes
    nothing.
    """
    rounded = shapely.transform(geom, lambda xy: np.round(xy, decimals))
    if not isinstance(geom, Polygon | MultiPolygon) or shapely.is_valid(rounded):
        return rounded
    snapped = shapely.set_precision(geom, 10.0**-decimals)
    return as_multipolygon(snapped) if isinstance(geom, MultiPolygon) else snapped


def areas_km2(geoseries):
    """Return the areas of a lon/lat GeoSeries in square kilometres."""
    return geoseries.to_crs(EQUAL_AREA).area / 1e6


def for_rfc7946(geom, decimals=COORDINATE_DECIMALS):
    """Return `geom` with exterior rings counter-clockwise and coordinates rounded."""
    geom = shapely.transform(geom, lambda xy: np.round(xy, decimals))
    return shapely.orient_polygons(geom, exterior_cw=False)


@lru_cache(maxsize=64)
def epsg_of(crs):
    """Return the EPSG code of a CRS (pyproj CRS, WKT or "EPSG:n"), or None.

    A .prj written by ESRI tools (the London wards) describes British National Grid in WKT1
    without an EPSG code, and pyproj only matches it at low confidence. A low-confidence
    match is accepted only when both CRSs put test points at the same place.
    """
    crs = pyproj.CRS.from_user_input(crs)
    code = crs.to_epsg()
    if code is None:
        code = crs.to_epsg(min_confidence=20)
        if code is not None and not _same_projection(crs, pyproj.CRS.from_epsg(code)):
            code = None
    return code


def _same_projection(crs, other, tolerance=0.01):
    area = other.area_of_use
    if area is None:
        return False
    lons = np.linspace(area.west, area.east, 5)[1:-1]
    lats = np.linspace(area.south, area.north, 5)[1:-1]
    a = transformer(WGS84, crs).transform(lons, lats)
    b = transformer(WGS84, other).transform(lons, lats)
    return bool(np.all(np.abs(np.subtract(a, b)) < tolerance))


@lru_cache(maxsize=32)
def transformer(source, target=WGS84):
    """Return a cached x/y-ordered transformer between two CRSs."""
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def to_lonlat(x, y, crs):
    """Return lon, lat arrays for x, y arrays given in `crs`."""
    if epsg_of(crs) == SRID:
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return transformer(pyproj.CRS.from_user_input(crs)).transform(x, y)


def _inside(x, y, box):
    min_x, min_y, max_x, max_y = box
    return min_x <= x <= max_x and min_y <= y <= max_y


def guess_crs(bounds):
    """Guess the EPSG code of coordinates with no stated CRS from their bounds, or None."""
    min_x, min_y, max_x, max_y = bounds
    for code, box in ((SRID, (-180, -90, 180, 90)), (BNG, BNG_BOX)):
        if _inside(min_x, min_y, box) and _inside(max_x, max_y, box):
            return code
    return None


def looks_like_bng(x, y):
    """Tell whether a pair outside lon/lat range looks like British National Grid metres."""
    return _inside(x, y, BNG_BOX) and max(x, y) > 1000


def lonlat_problem(lon, lat):
    """Say why a lon/lat pair looks wrong (wrong CRS, swapped, out of range), or None."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return "coordinate is not a finite number"
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        if looks_like_bng(lon, lat):
            return (
                f"coordinates ({lon:g}, {lat:g}) look like British National Grid metres, "
                "not longitude/latitude (wrong CRS?)"
            )
        return f"coordinates ({lon:g}, {lat:g}) are outside the range of longitude/latitude"
    if _inside(lat, lon, UK_LONLAT_BOX) and not _inside(lon, lat, UK_LONLAT_BOX):
        return f"coordinates ({lon:g}, {lat:g}) look swapped (latitude given as longitude?)"
    return None


def easting_northing_problem(easting, northing):
    """Say why a British National Grid pair looks wrong, or None."""
    if not (math.isfinite(easting) and math.isfinite(northing)):
        return "coordinate is not a finite number"
    if abs(easting) <= 180 and abs(northing) <= 90:
        return (
            f"coordinates ({easting:g}, {northing:g}) look like longitude/latitude degrees, "
            "not British National Grid metres (wrong CRS?)"
        )
    if not _inside(easting, northing, BNG_BOX):
        if _inside(northing, easting, BNG_BOX):
            return f"coordinates ({easting:g}, {northing:g}) look swapped (northing first?)"
        return f"coordinates ({easting:g}, {northing:g}) are outside British National Grid"
    return None


EARTH_RADIUS_M = 6_371_008.8  # the mean radius


def distance_m(lonlat_a, lonlat_b):
    """Return the great-circle distance in metres between two lon/lat points."""
    lon1, lat1, lon2, lat2 = np.radians([*lonlat_a, *lonlat_b])
    a = np.sin((lat2 - lat1) / 2) ** 2
    a += np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return float(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a)))


def point_of(geom):
    """Return (lon/lat Point, None) for a point geometry, or (None, why it is not one)."""
    if isinstance(geom, Point):
        return shapely.force_2d(geom), None
    if geom.geom_type == "MultiPoint":
        if len(geom.geoms) == 1:
            return shapely.force_2d(geom.geoms[0]), None
        return None, f"multi-valued coordinate: a MultiPoint of {len(geom.geoms)} points"
    return None, f"geometry is a {geom.geom_type}, not a point"
