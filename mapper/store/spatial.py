"""Spatial SQL that differs between SpatiaLite and PostGIS: predicates, boxes, extents, distances.

store/db.py re-exports these names, so callers keep writing `db.intersects(...)` and the like.
"""

import json
from itertools import product

import numpy as np
import shapely
from geoalchemy2 import Geography
from sqlalchemy import JSON, Float, Integer, Text, and_, cast, func, literal, or_, select, text
from sqlalchemy import column as sa_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Join

from mapper.geo import SRID


def is_spatialite(bind):
    """Tell whether an engine, connection or session talks to SpatiaLite."""
    if isinstance(bind, Session):
        bind = bind.get_bind()
    return bind.dialect.name == "sqlite"


def spatial_true(expr, bind):
    """Make a spatial predicate usable in WHERE: SpatiaLite answers 1/0/-1, PostGIS a boolean."""
    return expr == 1 if is_spatialite(bind) else expr


def intersects(a, b, bind):
    """Return the WHERE clause `a intersects b` for this backend."""
    return spatial_true(func.ST_Intersects(a, b), bind)


def bbox_filter(column, lonlat_box, bind):
    """Return a WHERE clause selecting rows whose geometry's box meets `lonlat_box`.

    The clause uses the spatial index on both backends: SpatiaLite never uses its R*Tree by
    itself, so it gets the SpatialIndex sub-select.
    """
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in lonlat_box)
    if is_spatialite(bind):
        table = column.table
        pk = table.primary_key.columns.values()[0]
        return pk.in_(
            text(
                "SELECT rowid FROM SpatialIndex WHERE f_table_name = :bbox_table "
                "AND f_geometry_column = :bbox_column "
                "AND search_frame = BuildMbr(:bbox_x0, :bbox_y0, :bbox_x1, :bbox_y1, 4326)"
            ).bindparams(
                bbox_table=table.name,
                bbox_column=column.name,
                bbox_x0=min_lon,
                bbox_y0=min_lat,
                bbox_x1=max_lon,
                bbox_y1=max_lat,
            )
        )
    envelope = func.ST_MakeEnvelope(min_lon, min_lat, max_lon, max_lat, SRID)
    return column.op("&&")(envelope)


def in_box(column, lonlat_box, bind):
    """Return (FROM clause, WHERE clauses) choosing the rows of `column`'s table whose
    geometry's box meets `lonlat_box` through the spatial index.

    SpatiaLite: from the index to the rows. Its planner, without statistics, prefers any
    other index on an equality (a status) and then looks every row it reads up in the box's
    list; for a small box that is the whole table instead of a few rows. PostGIS: the table
    and a WHERE that its planner weighs itself.
    """
    if is_spatialite(bind):
        return boxes_join(column, [lonlat_box], bind)[0], []
    return column.table, [bbox_filter(column, lonlat_box, bind)]


def boxes_filter(column, lonlat_boxes, bind):
    """Return a WHERE clause selecting rows whose geometry intersects one of `lonlat_boxes`.

    Exact, unlike `bbox_filter`: the index narrows to the rows whose box meets a box, then
    the geometry itself must intersect it (OGC API – Features /req/core/fc-bbox-response).
    A box is four numbers, or a lon/lat polygon (shapely) for a box given in another CRS.
    """
    clauses = []
    for lonlat_box in lonlat_boxes:
        if isinstance(lonlat_box, shapely.Geometry):  # a lon/lat polygon: a box in another CRS
            envelope = func.ST_GeomFromWKB(shapely.to_wkb(lonlat_box), SRID)
            lonlat_box = lonlat_box.bounds
        elif is_spatialite(bind):
            envelope = func.BuildMbr(*(float(v) for v in lonlat_box), SRID)
        else:
            envelope = func.ST_MakeEnvelope(*(float(v) for v in lonlat_box), SRID)
        narrowed = bbox_filter(column, lonlat_box, bind)
        clauses.append(and_(narrowed, intersects(column, envelope, bind)))
    return or_(*clauses)


def extent(session, column, *where):
    """Return (min_lon, min_lat, max_lon, max_lat) of the rows' geometries, or None if none."""
    if is_spatialite(session):
        box = func.Extent(column)
        parts = (func.MbrMinX(box), func.MbrMinY(box), func.MbrMaxX(box), func.MbrMaxY(box))
    else:
        box = func.ST_Extent(column)
        parts = (func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))
    row = session.execute(select(*parts).where(*where)).one()
    return None if row[0] is None else tuple(float(v) for v in row)


def distance_m(column, lonlat, bind):
    """Return the expression: metres on the WGS84 ellipsoid from `column` to a lon/lat point."""
    lon, lat = (float(v) for v in lonlat)
    if is_spatialite(bind):
        return func.ST_Distance(column, func.MakePoint(lon, lat, SRID), 1)
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), SRID)
    return func.ST_Distance(cast(column, Geography), cast(point, Geography))


class OrderedJoin(Join):
    """An inner join that SQLite must loop over in the order written; a plain JOIN elsewhere.

    SQLite plans joins without statistics unless ANALYZE has run, and may pick an order that
    probes an index millions of times; its CROSS JOIN keeps the order written.
    """

    inherit_cache = True


@compiles(OrderedJoin, "sqlite")
def _compile_ordered_join(join, compiler, asfrom=False, from_linter=None, **kw):
    if from_linter:
        from_linter.edges.update(product(join.left._from_objects, join.right._from_objects))
    left, right = (
        side._compiler_dispatch(compiler, asfrom=True, from_linter=from_linter, **kw)
        for side in (join.left, join.right)
    )
    onclause = join.onclause._compiler_dispatch(compiler, from_linter=from_linter, **kw)
    return f"{left} CROSS JOIN {right} ON {onclause}"


def boxes_join(column, boxes, bind):
    """Join the rows of `column`'s table to the lon/lat boxes their geometry's box meets.

    `boxes` holds rows (min_lon, min_lat, max_lon, max_lat, *values). Returns (FROM clause,
    box number, [values]): the values are the rest of each box's row, for use in the query.
    The join goes through the spatial index.
    """
    table = column.table
    boxes = np.asarray(boxes, dtype=float)
    extra = range(4, boxes.shape[1])
    payload = json.dumps(boxes.tolist())
    if is_spatialite(bind):
        # SpatiaLite keeps its R*Tree in a virtual table. The planner would scan the table
        # first, so CROSS JOIN fixes the order (boxes, then the index) in a materialised CTE.
        index = f"idx_{table.name}_{column.name}"
        values = "".join(f", json_extract(boxes.value, '$[{i}]') AS v{i}" for i in extra)
        candidates = (
            text(
                f"SELECT boxes.key AS key, r.pkid AS pkid{values} FROM json_each(:boxes) AS boxes "
                f"CROSS JOIN {index} AS r "
                "ON r.xmin <= json_extract(boxes.value, '$[2]') "
                "AND r.xmax >= json_extract(boxes.value, '$[0]') "
                "AND r.ymin <= json_extract(boxes.value, '$[3]') "
                "AND r.ymax >= json_extract(boxes.value, '$[1]')"
            )
            .bindparams(boxes=payload)
            .columns(
                sa_column("key", Integer),
                sa_column("pkid", Integer),
                *(sa_column(f"v{i}", Float) for i in extra),
            )
            .cte(f"{table.name}_in_boxes")
            .prefix_with("MATERIALIZED")
        )
        pk = table.primary_key.columns.values()[0]
        joined = candidates.join(table, pk == candidates.c.pkid)
        return joined, candidates.c.key, [candidates.c[f"v{i}"] for i in extra]
    source = (
        func.json_array_elements(cast(literal(payload, Text), JSON))
        .table_valued("value", with_ordinality="key")
        .render_derived("boxes")
    )
    x0, y0, x1, y1, *values = (
        cast(source.c.value.op("->>")(i), Float) for i in range(boxes.shape[1])
    )
    envelope = func.ST_MakeEnvelope(x0, y0, x1, y1, SRID)
    return source.join(table, column.op("&&")(envelope)), source.c.key - 1, values
