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
EARTH_RADIUS_KM = 6371.0088  # the mean Earth radius (IUGG), for great-circle distances


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
    # A tree of the points, queried with the polygons: each polygon is then prepared once
    # for all the points near it, about 15 times faster than the other way round.
    polygon_idx, point_idx = shapely.STRtree(points).query(
        np.asarray(polygons, dtype=object), predicate="intersects"
    )
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
    """Return a shapely Point from a (lon, lat) pair."""
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


# The most vertices one stored polygon may have. SpatiaLite reads geometry through a text
# parser that gives up ("Parser stack overflow") somewhere past 300,000; PostGIS would take
# more, but both backends must take the same files. A full-resolution ward has a few
# thousand; a generalised one a few hundred.
MAX_VERTICES = 250_000


def vertex_problem(geom):
    """Return why a polygon has too many vertices to store, or None."""
    count = shapely.get_num_coordinates(geom)
    if count > MAX_VERTICES:
        return (
            f"the polygon has {count:,} vertices, more than {MAX_VERTICES:,}: "
            "simplify it (e.g. ogr2ogr -simplify) or use a generalised boundary"
        )
    return None


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


def coverage_shares(polygons, patches):
    """Return, for each lon/lat polygon, the share (0-1) of its area inside the union of `patches`.

    Areas are measured in the equal-area projection, as `areas_km2` does.
    """
    polygons = np.asarray(polygons, dtype=object)
    shares = np.zeros(len(polygons))
    patches = np.asarray([p for p in patches if p is not None and not p.is_empty], dtype=object)
    if len(polygons) == 0 or len(patches) == 0:
        return shares
    patches = shapely.make_valid(patches)
    polygon_idx, patch_idx = shapely.STRtree(patches).query(polygons, predicate="intersects")
    if len(polygon_idx) == 0:
        return shares
    order = np.argsort(polygon_idx, kind="stable")
    polygon_idx, patch_idx = polygon_idx[order], patch_idx[order]
    hit, starts = np.unique(polygon_idx, return_index=True)
    covered = [
        shapely.intersection(polygons[i], shapely.union_all(patches[group]))
        for i, group in zip(hit, np.split(patch_idx, starts[1:]), strict=True)
    ]
    whole, inside = equal_areas(polygons[hit]), equal_areas(covered)
    shares[hit] = np.clip(np.divide(inside, whole, out=np.zeros(len(hit)), where=whole > 0), 0, 1)
    return shares


def equal_areas(geoms):
    """Return the areas of lon/lat geometries in square metres (equal-area projection)."""
    transformer = pyproj.Transformer.from_crs(WGS84, EQUAL_AREA, always_xy=True)
    projected = shapely.transform(
        np.asarray(geoms, dtype=object),
        lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])),
    )
    return shapely.area(projected)


def boxes_around(lon, lat, radius_km):
    """Return (n, 4) lon/lat boxes, each holding every point within `radius_km` of its centre.

    A box that would reach a pole or cross the antimeridian spans all longitudes.
    """
    lon, lat, radius_km = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (lon, lat, radius_km))
    )
    angle = np.minimum(radius_km / EARTH_RADIUS_KM, np.pi)
    dlat = np.degrees(angle)
    # The widest longitude of a spherical cap of this angle (where it is not a polar cap).
    spread = np.sin(angle) / np.cos(np.radians(lat))
    dlon = np.degrees(np.arcsin(np.clip(spread, 0, 1)))
    margin = 1e-6  # a hair wider: the spatial indexes round their boxes
    boxes = np.column_stack([lon - dlon, lat - dlat, lon + dlon, lat + dlat])
    boxes += np.array([-margin, -margin, margin, margin])
    every_lon = (spread >= 1) | (boxes[:, 1] <= -90) | (boxes[:, 3] >= 90) | (angle >= np.pi)
    every_lon |= (boxes[:, 0] < -180) | (boxes[:, 2] > 180)
    boxes[every_lon, 0], boxes[every_lon, 2] = -180.0, 180.0
    boxes[:, 1], boxes[:, 3] = np.maximum(boxes[:, 1], -90.0), np.minimum(boxes[:, 3], 90.0)
    return boxes


def haversine_km(lon1, lat1, lon2, lat2):
    """Return great-circle distances in km between lon/lat points (degrees)."""
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


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
    to_local = transformer(WGS84, local)

    def project(xy):
        return np.column_stack(to_local.transform(xy[:, 0], xy[:, 1]))

    return shapely.distance(shapely.transform(geom, project), shapely.transform(points, project))


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
    """Tell whether (x, y) is inside the box: numbers, or arrays of them (elementwise)."""
    min_x, min_y, max_x, max_y = box
    return (min_x <= x) & (x <= max_x) & (min_y <= y) & (y <= max_y)


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


def lonlat_fine(lon, lat):
    """Tell, for arrays of lon/lat, where `lonlat_problem` would find nothing wrong."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    with np.errstate(invalid="ignore"):
        return (
            np.isfinite(lon)
            & np.isfinite(lat)
            & (np.abs(lon) <= 180)
            & (np.abs(lat) <= 90)
            & ~(_inside(lat, lon, UK_LONLAT_BOX) & ~_inside(lon, lat, UK_LONLAT_BOX))
        )


def easting_northing_fine(easting, northing):
    """Tell, for arrays of eastings/northings, where `easting_northing_problem` would find
    nothing wrong."""
    x, y = np.asarray(easting, dtype=float), np.asarray(northing, dtype=float)
    with np.errstate(invalid="ignore"):
        return (
            np.isfinite(x)
            & np.isfinite(y)
            & ~((np.abs(x) <= 180) & (np.abs(y) <= 90))
            & _inside(x, y, BNG_BOX)
        )


def distance_m(lonlat_a, lonlat_b):
    """Return the great-circle distance in metres between two lon/lat points."""
    return float(haversine_km(*lonlat_a, *lonlat_b)) * 1000


def point_of(geom):
    """Return (lon/lat Point, None) for a point geometry, or (None, why it is not one)."""
    if isinstance(geom, Point):
        return shapely.force_2d(geom), None
    if geom.geom_type == "MultiPoint":
        if len(geom.geoms) == 1:
            return shapely.force_2d(geom.geoms[0]), None
        return None, f"multi-valued coordinate: a MultiPoint of {len(geom.geoms)} points"
    return None, f"geometry is a {geom.geom_type}, not a point"


# A group's location precision: where its location is published. Its ward, and the analysis,
# always use the true point; only what is published is generalised.
PRECISIONS = ("exact", "approximate", "hidden")
GRID_CELL_M = 1000  # `approximate`: the centre of the 1 km British National Grid cell
PRECISION_NOTES = {
    "exact": "the location as given",
    "approximate": "the centre of the 1 km British National Grid square holding the group",
    "hidden": "not published: the group is shown in its ward only",
}


def published_lonlats(lons, lats, precisions):
    """Return (lons, lats) as they may be published: NaN where hidden, a 1 km BNG cell centre
    where approximate, unchanged where exact (arrays of equal length)."""
    lons, lats = np.array(lons, dtype=float), np.array(lats, dtype=float)
    precisions = np.asarray(precisions, dtype=object)
    cells = precisions == "approximate"
    if cells.any():
        x, y = transformer(WGS84, f"EPSG:{BNG}").transform(lons[cells], lats[cells])
        x = (np.floor(np.asarray(x) / GRID_CELL_M) + 0.5) * GRID_CELL_M
        y = (np.floor(np.asarray(y) / GRID_CELL_M) + 0.5) * GRID_CELL_M
        lons[cells], lats[cells] = transformer(f"EPSG:{BNG}").transform(x, y)
    hidden = ~np.isin(precisions, ("exact", "approximate"))  # unknown is hidden: never leak
    lons[hidden], lats[hidden] = np.nan, np.nan
    return lons, lats


def published_point(point, precision):
    """Return the shapely Point to publish for a true `point` of `precision`, or None."""
    if point is None:
        return None
    lons, lats = published_lonlats([point.x], [point.y], [precision or "exact"])
    return None if math.isnan(lons[0]) else Point(float(lons[0]), float(lats[0]))
