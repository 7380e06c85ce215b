"""OGC API – Features Part 2: the coordinate reference systems the collections are served in.

Stored and published as CRS84 (lon/lat); a request may ask for EPSG:4326 (the same datum,
lat/lon axis order) or British National Grid, EPSG:27700 (easting/northing in metres), for
the features (`crs`) and for its `bbox` (`bbox-crs`). Features in another CRS are the CRS84
ones transformed, so both land in the same place.
"""

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from mapper import geo
from mapper.http import params

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
EPSG_27700 = "http://www.opengis.net/def/crs/EPSG/0/27700"
SUPPORTED = (CRS84, EPSG_4326, EPSG_27700)
STORAGE = CRS84
# The `crs` member old GeoJSON readers (GDAL's GeoJSON driver) take a CRS from.
URNS = {EPSG_4326: "urn:ogc:def:crs:EPSG::4326", EPSG_27700: "urn:ogc:def:crs:EPSG::27700"}
DECIMALS = {CRS84: geo.COORDINATE_DECIMALS, EPSG_4326: geo.COORDINATE_DECIMALS, EPSG_27700: 3}
# A bbox in British National Grid is a rectangle there, curved in lon/lat: its sides are cut
# into pieces of at most this many metres before they are transformed.
SEGMENT_M = 100


def header(crs):
    """Return the Content-Crs header value of an answer in `crs`."""
    return f"<{crs}>"


def _to_bng(xy):
    x, y = geo.transformer(geo.WGS84, f"EPSG:{geo.BNG}").transform(xy[:, 0], xy[:, 1])
    return np.round(np.column_stack([x, y]), DECIMALS[EPSG_27700])


def _swap(xy):
    return xy[:, ::-1]


def reproject(features, crs):
    """Transform the features (CRS84 dicts, changed in place) into `crs`; returns them."""
    if crs == CRS84:
        return features
    change = _swap if crs == EPSG_4326 else _to_bng
    located = [f for f in features if f.get("geometry")]
    points = [f["geometry"] for f in located if f["geometry"]["type"] == "Point"]
    if points:  # all in one array, without shapely: most pages are of groups or services
        moved = change(np.array([p["coordinates"] for p in points], dtype=float)).tolist()
        for point, xy in zip(points, moved, strict=True):
            point["coordinates"] = xy
    others = [f for f in located if f["geometry"]["type"] != "Point"]
    geoms = shapely.transform(np.array([shape(f["geometry"]) for f in others]), change)
    for feature, geom in zip(others, geoms, strict=True):
        feature["geometry"] = mapping(geom)
    return features


def lonlat_area(values, crs):
    """Return the lon/lat polygon of a bbox (min_x, min_y, max_x, max_y) given in `crs`."""
    if crs == EPSG_4326:  # lat/lon axis order
        min_lat, min_lon, max_lat, max_lon = values
        return min_lon, min_lat, max_lon, max_lat
    min_x, min_y, max_x, max_y = values
    low_x, low_y, high_x, high_y = geo.BNG_BOX
    if not (low_x <= min_x <= max_x <= high_x and low_y <= min_y <= max_y <= high_y):
        raise params.bad(
            "bbox",
            "in EPSG:27700: min_easting,min_northing,max_easting,max_northing in metres, "
            f"within {low_x}-{high_x} east and {low_y}-{high_y} north",
        )
    rectangle = shapely.segmentize(shapely.box(*values), SEGMENT_M)
    to_lonlat = geo.transformer(f"EPSG:{geo.BNG}", geo.WGS84)
    return shapely.transform(rectangle, lambda xy: np.column_stack(to_lonlat.transform(*xy.T)))
