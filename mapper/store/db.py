"""Engine and session; SpatiaLite loading. Backend differences live here and only here."""

# Import the geometry libraries before the first SpatiaLite connection: loading mod_spatialite
# puts the system GEOS/PROJ into the process's global symbol scope, and a library imported
# after that can bind to the wrong copy and crash the process.
import geopandas  # noqa: F401, I001
import pyogrio  # noqa: F401
import pyproj  # noqa: F401
import shapely  # noqa: F401

import functools
import threading
import time
import zlib
from contextlib import contextmanager
from pathlib import Path


from flask import current_app, g
from geoalchemy2.admin.dialects.sqlite import init_spatialite
from geoalchemy2.shape import from_shape
from sqlalchemy import (
    any_,
    bindparam,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool

from mapper.errors import Unavailable
from mapper.geo import SRID, on_grid
from mapper.store import kept, postgres, replicas, version
from mapper.store.spatial import (  # noqa: F401 - re-exported: callers use db.<name>
    OrderedJoin,
    bbox_filter,
    boxes_filter,
    boxes_join,
    distance_m,
    extent,
    in_box,
    intersects,
    is_spatialite,
    spatial_true,
)

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
    # WAL with synchronous NORMAL: no corruption on any crash, and a commit does not wait for
    # the disk (a power cut may lose the last commits, a killed process loses nothing).
    pragmas = (
        "journal_mode = WAL",
        "synchronous = NORMAL",
        "foreign_keys = ON",
        "busy_timeout = 30000",
    )
    for pragma in pragmas:
        dbapi_conn.execute(f"PRAGMA {pragma}")


def _begin_sqlite(conn):
    # BEGIN IMMEDIATE when asked (see _hold_write_lock), else a deferred BEGIN.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


WRITE = "mapper_write"


def make_engine(url, connect_timeout=None, statement_timeout=None, pool_timeout=None, **pool):
    """Create an engine; SpatiaLite is loaded into every SQLite connection.

    Timeouts in seconds (None: the drivers' own). PostgreSQL: `connect_timeout` to connect,
    `statement_timeout` per statement while answering a web request (see store/postgres.py);
    both: `pool_timeout` to wait for a free connection of the pool. `pool` passes other pool
    settings (pool_size, max_overflow, poolclass) on to SQLAlchemy.
    """
    url = normalise_url(url)
    in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    if pool_timeout is not None and not in_memory and "poolclass" not in pool:
        pool["pool_timeout"] = pool_timeout  # only a queue of connections has one
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **pool)
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    engine = create_engine(
        url, pool_pre_ping=True, connect_args=postgres.connect_args(connect_timeout), **pool
    )
    first_wait = (statement_timeout or connect_timeout or 0) + postgres.GRACE_SECONDS

    def connect(_dialect, _record, cargs, cparams):
        connection = postgres.TimedConnection.connect(*cargs, **cparams)
        connection.wait_timeout = first_wait
        return connection

    def checkout(dbapi_connection, _record, _proxy):
        postgres.apply_statement_timeout(dbapi_connection, statement_timeout)

    def handle_error(context):
        connection = context.connection
        dbapi = getattr(connection, "connection", None) if connection is not None else None
        if getattr(getattr(dbapi, "dbapi_connection", None), "closed", False):
            context.is_disconnect = True  # timed out and closed: take it out of the pool

    event.listen(engine, "do_connect", connect)
    event.listen(engine, "checkout", checkout)
    event.listen(engine, "handle_error", handle_error)
    return engine


def insert_new(session, table, rows, key):
    """Insert the rows whose `key` column value is not stored yet; a row that another
    transaction inserts at the same moment is skipped, not an error."""
    if not rows:
        return
    dialect = sqlite if is_spatialite(session) else postgresql
    statement = dialect.insert(table).on_conflict_do_nothing(index_elements=[key])
    session.execute(statement, rows)


def insert_many(session, table, rows):
    """INSERT the rows (dicts with the same keys) in as few statements as the backend allows.

    PostGIS: with RETURNING, so that SQLAlchemy batches them into multi-row INSERTs
    ("insertmanyvalues", 1,000 rows a statement) where psycopg would send one statement per
    row and statement triggers would fire per row. SQLite: one executemany.
    """
    if not rows:
        return
    if is_spatialite(session):
        session.execute(table.insert(), rows)
        return
    first_key = next(iter(table.primary_key.columns))
    session.execute(table.insert().returning(first_key), rows)


def among(session, column, values):
    """`column IN values`, as each backend reads a long list fastest: on PostGIS one array
    parameter (`= ANY(...)`), where a parameter per value costs psycopg and the planner
    about 5 µs each (28 ms for the 5,000 external ids of an import's chunk)."""
    if is_spatialite(session):
        return column.in_(values)
    array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
    return column == any_(array)


def reserve_ids(session, table, count):
    """Return `count` new primary keys of `table` for rows this transaction will insert.

    PostGIS: from the id sequence, safe beside other writers. SQLite: after the highest id,
    so call it holding the write lock (`lock_for_import`); without it a writer that commits
    in between makes this transaction's INSERT fail, never reuse an id.
    """
    if count <= 0:
        return []
    if is_spatialite(session):
        start = session.execute(text(f'SELECT coalesce(max(id), 0) FROM "{table.name}"')).scalar()
        return list(range(start + 1, start + 1 + count))
    return session.scalars(
        text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
        {"table": table.name, "n": count},
    ).all()


def database_status(engine):
    """Return a short description of the database, raising if it cannot be reached."""
    with engine.connect() as conn:
        if is_spatialite(engine):
            release = conn.execute(text("SELECT spatialite_version()")).scalar_one()
            return {"backend": "spatialite", "spatial_version": release}
        release = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
        return {"backend": "postgis", "spatial_version": release}


def refresh_statistics(session):
    """After loading data, let PostGIS's planner see it (autovacuum would, but later).

    Before its first ANALYZE a freshly loaded PostGIS database plans the gap analysis about
    ten times slower. SpatiaLite is left alone: its queries fix their own join order.
    """
    if not is_spatialite(session):
        with transaction(session):
            session.execute(text("ANALYZE"))


def lock_for_import(session, table):
    """Make imports into `table` wait for each other until this transaction ends.

    Call it first in the transaction. PostGIS: a transaction-scoped advisory lock. SQLite:
    nothing more is needed, since an import that will commit began with BEGIN IMMEDIATE and
    so holds the database's write lock already (see _hold_write_lock), while a dry run takes
    none before its first write.
    """
    serialise(session, table)


def _hold_write_lock(session):
    """On SQLite, make the session's transaction one that holds the write lock.

    SQLite lets one writer in at a time, and a transaction that began by reading cannot
    start writing once another has committed in between: it fails at once ("database is
    locked") instead of waiting out the busy timeout. So a transaction that will write
    begins with BEGIN IMMEDIATE and queues behind the current writer. A read already under
    way with nothing unsaved is ended first (a read-only commit: nothing is expired); one
    with unsaved changes is left as it is.
    """
    if not is_spatialite(session):
        return
    if session.in_transaction():
        if session.info.get(WRITE) is session.get_transaction():
            return
        if session.new or session.dirty or session.deleted:
            return
        session.commit()
    session.connection(execution_options={WRITE: True})
    session.info[WRITE] = session.get_transaction()


LOCK_WAIT_SECONDS = 600  # how long serialise() waits for the others before giving up
LOCK_POLL_SECONDS = 0.05


def serialise(session, name):
    """Make the transactions that call this with `name` run one at a time, until they end.

    PostGIS: a transaction-scoped advisory lock, tried again and again rather than waited
    for in one statement, so that the wait is never cut short by the statement timeout and
    a frozen server still fails fast; Unavailable (503) after LOCK_WAIT_SECONDS. SQLite:
    nothing more is needed, since a transaction that writes holds the database's write lock
    from its start.
    """
    if is_spatialite(session):
        return
    key = zlib.crc32(name.encode())
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    attempt = text("SELECT pg_try_advisory_xact_lock(:key)")
    while not session.execute(attempt, {"key": key}).scalar():
        if time.monotonic() > deadline:
            raise Unavailable(f"Another {name.replace('_', ' ')} is taking too long; try again.")
        time.sleep(LOCK_POLL_SECONDS)


@contextmanager
def transaction(session, commit=True):
    """Commit everything done inside the block, or nothing if it raises or not `commit`.

    A block that may commit queues for SQLite's write lock first (see _hold_write_lock); one
    that never commits (a dry run) takes no lock before it writes.
    """
    if commit:
        _hold_write_lock(session)
    try:
        yield session
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise


@contextmanager
def write_transaction(session):
    """Like `transaction`: a use case that reads then writes while others may write."""
    with transaction(session):
        yield session


# The key of the analysis parameters in every session's info (read by core/analysis.py).
ANALYSIS_PARAMS = "mapper.analysis_params"


class Database:
    """An engine, its session factory, a pool-less engine for health checks, and the cache of
    answers computed from its data.

    Every session carries the cache in `session.info` (see `version.cache_of`), keyed by the
    data version, so use cases can reuse an answer without knowing of Flask; and, given the
    app's `secret`, the Keeper of the answers kept in the database for every process
    (store/kept.py).
    """

    def __init__(
        self,
        url,
        connect_timeout=None,
        statement_timeout=None,
        pool_timeout=None,
        analysis=None,
        secret=None,
    ):
        self.engine = make_engine(url, connect_timeout, statement_timeout, pool_timeout)
        self.cache = version.VersionedCache()
        self.analysis = dict(analysis or {})
        self.info = {version.CACHE: self.cache, ANALYSIS_PARAMS: self.analysis}
        if secret:  # answers kept in the database for the other processes (store/kept.py)
            self.info[kept.KEEPER] = kept.Keeper(self.engine, secret, {WRITE: True})
        self.Session = sessionmaker(self.engine, expire_on_commit=False, info=self.info)
        # Never waits for a pooled connection that a frozen server holds; SQLite cannot freeze.
        self.health_engine = (
            self.engine
            if is_spatialite(self.engine)
            else make_engine(url, connect_timeout, statement_timeout, poolclass=NullPool)
        )

    def status_within(self, seconds):
        """Return database_status, or raise TimeoutError if it takes longer than `seconds`."""
        answer = {}

        def check():
            try:
                answer["status"] = database_status(self.health_engine)
            except Exception as error:  # noqa: BLE001 - handed to the caller below
                answer["error"] = error

        thread = threading.Thread(target=check, name="health-check", daemon=True)
        thread.start()
        thread.join(seconds)
        if thread.is_alive():
            raise TimeoutError(f"the database did not answer within {seconds:g} s")
        if "error" in answer:
            raise answer["error"]
        return answer["status"]

    def dispose(self):
        self.engine.dispose()
        self.health_engine.dispose()


def init_app(app):
    """Attach a Database built from DATABASE_URL (and its replicas, DATABASE_REPLICA_URLS)
    and close the request's session afterwards."""
    url = app.config.get("DATABASE_URL") or default_url(app.instance_path)
    app.config["DATABASE_URL"] = str(url)
    timeouts = {
        "connect_timeout": app.config.get("DATABASE_CONNECT_TIMEOUT"),
        "statement_timeout": app.config.get("DATABASE_STATEMENT_TIMEOUT"),
        "pool_timeout": app.config.get("DATABASE_POOL_TIMEOUT"),
    }
    app.extensions["mapper.db"] = Database(
        url, **timeouts, analysis=analysis_params(app.config), secret=app.config.get("SECRET_KEY")
    )
    urls = replica_urls(app.config.get("DATABASE_REPLICA_URLS"))
    if urls:
        if is_spatialite(app.extensions["mapper.db"].engine):
            raise ValueError("DATABASE_REPLICA_URLS needs a PostgreSQL DATABASE_URL")
        app.extensions["mapper.replicas"] = replicas.ReplicaSet(
            [str(normalise_url(u)) for u in urls],
            functools.partial(make_engine, **timeouts),
            max_lag=float(app.config["REPLICA_MAX_LAG_SECONDS"]),
            check_seconds=float(app.config["REPLICA_CHECK_SECONDS"]),
            retry_seconds=float(app.config["REPLICA_RETRY_SECONDS"]),
        )
    app.teardown_appcontext(_close_session)


def analysis_params(config):
    """Return the gap analysis's parameters the deployment sets (REACH_*, PRIORITY_BY)."""
    keys = {
        "REACH_METRES": "reach_metres",
        "REACH_DETOUR_FACTOR": "detour_factor",
        "PRIORITY_BY": "priority_by",
    }
    return {name: config[key] for key, name in keys.items() if config.get(key) is not None}


def replica_urls(setting):
    """Return the replica URLs of DATABASE_REPLICA_URLS (comma-separated, or a list)."""
    if not setting:
        return []
    values = setting.split(",") if isinstance(setting, str) else setting
    return [str(v).strip() for v in values if str(v).strip()]


def get_db():
    """Return the app's Database (engine and session factory)."""
    return current_app.extensions["mapper.db"]


def get_replicas():
    """Return the app's ReplicaSet, or None when it has no replicas."""
    return current_app.extensions.get("mapper.replicas")


def read_from_replica(needed_position=None):
    """Let this request's session be on a replica that has replayed `needed_position`.

    Call it before the first `get_session()` of a read-only request; the session falls back
    to the primary when no replica is fit.
    """
    g.db_read_only = True
    g.db_needed_position = needed_position


def get_session():
    """Return the session of the current app context, opening it on first use.

    On the primary, unless the request was marked read-only (`read_from_replica`) and a
    replica fit for it is there.
    """
    if "db_session" not in g:
        session = None
        replica_set = get_replicas()
        if replica_set is not None and g.get("db_read_only"):
            session = replica_set.read_session(g.get("db_needed_position"))
            if session is not None:  # the same parameters, caches and kept answers
                session.info.update(get_db().info)
        g.db_session = session if session is not None else get_db().Session()
    return g.db_session


def request_session():
    """Return the session the current app context has opened, or None if it opened none."""
    return g.get("db_session")


def primary_position():
    """Return the primary's current WAL position, or None without replicas."""
    return replicas.primary_position(get_db().engine) if get_replicas() else None


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


def to_wkb_element(geom):
    """Return a shapely geometry as a GeoAlchemy2 element in EPSG:4326, on the stored grid."""
    return from_shape(on_grid(geom), srid=SRID, extended=True)
