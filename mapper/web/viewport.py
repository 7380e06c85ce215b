"""What the home map fetches for one view: markers or server clusters, wards at the zoom's detail.

Groups and services: the rows in the box, when there are at most `MARKER_BUDGET` of them;
else counts per cell of a lon/lat grid whose cells are a quarter of a web map tile wide at
that zoom (`cell_degrees`: 90 / 2**zoom degrees, square in degrees, so about 64 px wide and
100 px tall on screen in Britain), widened when the box would hold more cells than the
budget. Every row in the box falls in exactly one cell, so the counts add up to the groups
in view. Wards: the current wards in scope simplified as one coverage per zoom band
(`ZOOM_BANDS`, about half a screen pixel), cached until a ward changes, and cut to the
wards whose box meets the view.
"""

import math

import numpy as np
import shapely
from sqlalchemy import func, select

from mapper.store import db
from mapper.store.models import CommunityGroup, Ward
from mapper.web import mapdata

MARKER_BUDGET = 5000  # markers (or clusters) in one answer at most
MAX_ZOOM = 22
WORLD = (-180.0, -90.0, 180.0, 90.0)
# (highest zoom of the band, tolerance in degrees, decimals): about half a pixel at 256 px
# tiles (a pixel is 360 / 256 / 2**zoom degrees of longitude).
ZOOM_BANDS = (
    (6, 0.01, 3),
    (8, 0.0025, 4),
    (10, 0.0006, 4),
    (12, 0.00015, 5),
    (MAX_ZOOM, mapdata.DISPLAY_TOLERANCE, mapdata.DISPLAY_DECIMALS),
)
CLUSTER_FIELDS = ["lon", "lat", "count"]
# More wards in view than this are drawn on one canvas (static/js/map.js), not as SVG paths.
CANVAS_WARDS = 1000


def band(zoom):
    """Return (index, tolerance, decimals) of the zoom band `zoom` falls in."""
    for index, (top, tolerance, decimals) in enumerate(ZOOM_BANDS):
        if zoom <= top:
            return index, tolerance, decimals
    return len(ZOOM_BANDS) - 1, *ZOOM_BANDS[-1][1:]


def cell_degrees(zoom, lonlat_box=WORLD, budget=None):
    """Return the side in degrees of the cluster grid at `zoom`, so that `lonlat_box` holds
    at most about `budget` cells (MARKER_BUDGET by default)."""
    budget = budget or MARKER_BUDGET
    min_lon, min_lat, max_lon, max_lat = lonlat_box
    area = max(max_lon - min_lon, 1e-9) * max(max_lat - min_lat, 1e-9)
    return max(90.0 / 2**zoom, math.sqrt(area / budget) * 1.01)


def markers_in_view(session, model, zoom, lonlat_box, scope, where=(), budget=None):
    """Return the answer of a marker layer for one view: rows, or clusters when too many.

    `scope` holds the filters of `mapdata.marker_query` (la_codes, ward_codes, categories).
    The answer says how many rows are in view (`total`) and the grid's `cell` when clustered.
    """
    lonlat_box, budget = lonlat_box or WORLD, budget or MARKER_BUDGET

    x, y = func.ST_X(model.geom), func.ST_Y(model.geom)
    # The index's boxes are approximate (SpatiaLite's R*Tree keeps 32-bit floats): the exact
    # test keeps the counts those of the points in the box.
    min_lon, min_lat, max_lon, max_lat = lonlat_box
    inside = (x >= min_lon, x <= max_lon, y >= min_lat, y <= max_lat)

    def query(columns, *more):
        return mapdata.marker_query(
            session, model, columns, scope["la_codes"], scope["ward_codes"],
            scope["categories"], lonlat_box, (*where, *more),
        )  # fmt: skip

    # Groups published approximately count, and are drawn, where they are published (never
    # by their true point, not even as a cluster's mean): read at their published points.
    exact = (CommunityGroup.location_precision == "exact",) if model is CommunityGroup else ()
    moved = []
    if model is CommunityGroup:
        approximate = query(mapdata.marker_columns(model), ~exact[0])
        moved = mapdata.marker_rows(session, approximate, model, lonlat_box)
    total = session.scalar(query([func.count(model.id)], *exact, *inside)) + len(moved)
    answer = {"fields": mapdata.MARKER_FIELDS, "rows": [], "cluster_fields": CLUSTER_FIELDS}
    answer.update(clusters=[], total=total, cell=None)
    if total <= budget:
        columns = mapdata.marker_columns(model)
        answer["rows"] = mapdata.marker_rows(session, query(columns), model, lonlat_box)
        return answer
    cell = cell_degrees(zoom, lonlat_box, budget)
    column = func.floor((x + 180.0) / cell).label("cell_x")
    row = func.floor((y + 90.0) / cell).label("cell_y")
    grouped = query([column, row, func.count(model.id), func.sum(x), func.sum(y)], *exact, *inside)
    cells = {
        (int(cx), int(cy)): [int(count), float(sx), float(sy)]
        for cx, cy, count, sx, sy in session.execute(grouped.group_by(column, row))
    }
    for _id, lon, lat, _name in moved:
        key = (math.floor((lon + 180.0) / cell), math.floor((lat + 90.0) / cell))
        count, sx, sy = cells.get(key, (0, 0.0, 0.0))
        cells[key] = [count + 1, sx + lon, sy + lat]
    decimals = mapdata.DISPLAY_DECIMALS
    answer["clusters"] = [
        [round(sx / count, decimals), round(sy / count, decimals), count]
        for _key, (count, sx, sy) in sorted(cells.items())
    ]
    answer["cell"] = cell
    return answer


def wards_in_view(session, zoom, la_codes=(), codes=(), lonlat_box=None):
    """Return GeoJSON features of the current wards in scope whose box meets the view,
    simplified for `zoom` (all of the scope's wards simplified together, so neighbours meet)."""
    index, tolerance, decimals = band(zoom)
    la_codes, codes = tuple(sorted(la_codes)), tuple(sorted(codes))
    key = ("wards-band", mapdata.wards_signature(session), index, la_codes, codes)

    def build():
        columns = (Ward.code, Ward.name, Ward.la_code, Ward.la_name, func.ST_AsBinary(Ward.geom))
        query = select(*columns).where(Ward.current).order_by(Ward.code)
        query = mapdata.in_wards(query, la_codes, codes)
        rows = session.execute(query).all()
        originals = shapely.from_wkb([r[4] for r in rows])
        geoms = mapdata.simplify_coverage(originals, tolerance)
        features = mapdata.ward_features(rows, geoms, decimals)
        bounds = shapely.bounds(originals) if len(rows) else np.empty((0, 4))
        return features, bounds

    features, bounds = mapdata.cached(key, build)
    if not lonlat_box or not len(features):
        return features
    min_lon, min_lat, max_lon, max_lat = lonlat_box
    meets = (
        (bounds[:, 0] <= max_lon)
        & (bounds[:, 2] >= min_lon)
        & (bounds[:, 1] <= max_lat)
        & (bounds[:, 3] >= min_lat)
    )
    return [feature for feature, keep in zip(features, meets, strict=True) if keep]


def frame_in_view(frame, lonlat_box):
    """Return the rows of a gap-analysis frame whose ward's box meets `lonlat_box`, in order."""
    if not lonlat_box or frame.empty:
        return frame
    positions = np.sort(frame.sindex.query(shapely.box(*lonlat_box)))
    return frame.iloc[positions]


def home_box(session, home, la_codes=()):
    """Return the box the home map opens on: the wards of the filter's local authorities, else
    the configured home area (`MAP_HOME`: a local authority's code or a lon/lat box), else the
    extent of every current ward; None when there are no wards."""
    if not la_codes and home:
        parts = [p.strip() for p in str(home).split(",")]
        if len(parts) == 4:
            return tuple(float(p) for p in parts)
        la_codes = (parts[0].upper(),)
    key = ("home-box", mapdata.wards_signature(session), tuple(sorted(la_codes)))
    return mapdata.cached(key, lambda: _extent(session, la_codes))


def _extent(session, la_codes):
    names = ("MbrMinX", "MbrMinY", "MbrMaxX", "MbrMaxY")
    if not db.is_spatialite(session.get_bind()):
        names = ("ST_XMin", "ST_YMin", "ST_XMax", "ST_YMax")
    low_x, low_y, high_x, high_y = (getattr(func, name)(Ward.geom) for name in names)
    query = mapdata.in_wards(
        select(func.min(low_x), func.min(low_y), func.max(high_x), func.max(high_y)).where(
            Ward.current
        ),
        la_codes,
        (),
    )
    row = session.execute(query).one()
    return None if row[0] is None else tuple(float(v) for v in row)


# The table's columns and how each sorts, as static/js/map.js sorts them in the browser.
TABLE_SORTS = {
    "ward_name": "text",
    "population": "number",
    "groups": "number",
    "groups_per_1k": "number",
    "services": "number",
    "coordinator_coverage": "number",
    "imd_decile": "number",
    "activity_class": ("none", "low", "medium", "high"),
    "priority": "text",
}
TABLE_PAGE = 500  # rows of the table in one answer, unless `per_page` says fewer


def _sort_value(kind, value):
    if isinstance(kind, tuple):
        return kind.index(value) if value in kind else -1
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "" if kind == "text" else -math.inf
    return str(value).lower() if kind == "text" else float(value)


def table_page(records, sort="ward_name", page=1, per_page=TABLE_PAGE):
    """Return one page of the table's rows, sorted by `sort` ("-" first: descending; ties by
    ward code), with how many rows and pages there are and the totals of every row."""
    key = sort.lstrip("-")
    ordered = sorted(records, key=lambda r: r["ward_code"])
    ordered.sort(key=lambda r: _sort_value(TABLE_SORTS[key], r.get(key)), reverse=sort[0] == "-")
    pages = max(1, math.ceil(len(records) / per_page))
    known = [r["population"] for r in records if r.get("population") is not None]
    totals = {
        "wards": len(records),
        "population": sum(known) if known else None,
        "groups": sum(r.get("groups") or 0 for r in records),
        "services": sum(r.get("services") or 0 for r in records),
    }
    start = (page - 1) * per_page
    return {
        "wards": ordered[start : start + per_page],
        "total": len(records),
        "page": page,
        "pages": pages,
        "totals": totals,
    }


def only_fields(records, fields):
    """Return the records with `ward_code` and those of these fields they have, in order."""
    names = ["ward_code", *(f for f in dict.fromkeys(fields) if f != "ward_code")]
    return [{name: record[name] for name in names if name in record} for record in records]
