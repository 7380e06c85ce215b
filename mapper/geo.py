"""Pure geometry helpers: ward location rule, areas, repair, RFC 7946 output.

Imports nothing of ours. Coordinates are lon/lat (EPSG:4326) unless a name says otherwise.
"""

import numpy as np
import pyproj
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

SRID = 4326
WGS84 = "EPSG:4326"
# An equal-area projection for areas anywhere on Earth (World Cylindrical Equal Area).
EQUAL_AREA = "EPSG:6933"
COORDINATE_DECIMALS = 6  # about 0.1 m; RFC 7946 section 11.2
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
