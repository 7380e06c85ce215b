"""Engine and session; SpatiaLite loading. Backend differences live here and only here."""

# Import the geometry libraries before the first SpatiaLite connection: loading mod_spatialite
# puts the system GEOS/PROJ into the process's global symbol scope, and a library imported
# after that can bind to the wrong copy and crash the process.
import geopandas  # noqa: F401, I001
import pyogrio  # noqa: F401
import pyproj  # noqa: F401
import shapely  # noqa: F401

import json
from contextlib import contextmanager
from itertools import product
from pathlib import Path

import numpy as np

from flask import current_app, g
from geoalchemy2.admin.dialects.sqlite import init_spatialite
from geoalchemy2 import Geography
from sqlalchemy import (
    JSON,
    Float,
    Integer,
    Text,
    cast,
    create_engine,
    event,
    func,
    literal,
    select,
    text,
)
from sqlalchemy import column as sa_column
from sqlalchemy.engine import make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.expression import Join

from mapper.geo import SRID

SPATIALITE_MODULE = "mod_spatialite"


def normalise_url(url):
    """Return the SQLAlchemy URL for a DATABASE_URL, choosing psycopg 3 for PostgreSQL."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgis"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def default_url(instance_path):
    """Return the URL of the embedded SpatiaLite database in the instance folder."""
    return f"sqlite:///{Path(instance_path) / 'mapper.sqlite'}"


def _on_sqlite_connect(dbapi_conn, _record):
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see "begin"
    # below), so that every use case and SAVEPOINT is a real transaction.
    dbapi_conn.isolation_level = None
    dbapi_conn.enable_load_extension(True)
    dbapi_conn.load_extension(SPATIALITE_MODULE)
    dbapi_conn.enable_load_extension(False)
    # transaction=True: one transaction for the metadata tables, ~0.05 s instead of ~11 s.
    init_spatialite(dbapi_conn, transaction=True)
    for pragma in ("journal_mode = WAL", "foreign_keys = ON", "busy_timeout = 30000"):
        dbapi_conn.execute(f"PRAGMA {pragma}")


def make_engine(url):
    """Create an engine; SpatiaLite is loaded into every SQLite connection."""
    url = normalise_url(url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        return engine
    return create_engine(url, pool_pre_ping=True)


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


def database_status(engine):
    """Return a short description of the database, raising if it cannot be reached."""
    with engine.connect() as conn:
        if is_spatialite(engine):
            version = conn.execute(text("SELECT spatialite_version()")).scalar_one()
            return {"backend": "spatialite", "spatial_version": version}
        version = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
        return {"backend": "postgis", "spatial_version": version}


def refresh_statistics(session):
    """After loading data, let PostGIS's planner see it (autovacuum would, but later).

    Before its first ANALYZE a freshly loaded PostGIS database plans the gap analysis about
    ten times slower. SpatiaLite is left alone: its queries fix their own join order.
    """
    if not is_spatialite(session):
        with transaction(session):
            session.execute(text("ANALYZE"))


@contextmanager
def transaction(session, commit=True):
    """Commit everything done inside the block, or nothing if it raises or not `commit`."""
    try:
        yield session
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise


class Database:
    """An engine and its session factory."""

    def __init__(self, url):
        self.engine = make_engine(url)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)

    def dispose(self):
        self.engine.dispose()


def init_app(app):
    """Attach a Database built from DATABASE_URL and close the request's session afterwards."""
    url = app.config.get("DATABASE_URL") or default_url(app.instance_path)
    app.config["DATABASE_URL"] = str(url)
    app.extensions["mapper.db"] = Database(url)
    app.teardown_appcontext(_close_session)


def get_db():
    return current_app.extensions["mapper.db"]


def get_session():
    """Return the session of the current app context, opening it on first use."""
    if "db_session" not in g:
        g.db_session = get_db().Session()
    return g.db_session


def _close_session(_exc):
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def alembic_config(connection):
    """Return the Alembic configuration for our migrations, bound to `connection`."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["connection"] = connection
    return config


def upgrade_schema(engine):
    """Bring the database to the latest schema; safe to run on an up-to-date database."""
    from alembic import command

    with engine.begin() as connection:
        if not is_spatialite(engine):
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        command.upgrade(alembic_config(connection), "head")
