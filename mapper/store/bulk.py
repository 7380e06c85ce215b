"""Writing many rows below SQLAlchemy's per-row work, on the session's own connection and
so in its transaction: COPY on PostGIS, one executemany of plain tuples on SQLite.

`insert_rows` inserts new rows: each value converted as SQLAlchemy would bind it (its type's
bind processor: dates, JSON); a column no row names takes its Python default, called once
for all the rows (a timestamp is the statement's, as now() is in SQL); a geometry column takes
shapely geometries in lon/lat, put on the stored grid in one pass. On SpatiaLite, the work of
the per-row triggers is done once for all the rows (`_per_row_triggers_after`).

`merge_rows` inserts or updates plain rows by key: loaded in bulk into a temporary table,
then two set-based statements update the stored rows that differ and insert the missing ones
(INSERT … ON CONFLICT DO NOTHING). Its writes do not pass through the session's statements,
so the data version is told of them (`version.note_write`).
"""

import datetime
import json
import sqlite3
from contextlib import contextmanager

import numpy as np
import shapely
from sqlalchemy import JSON, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from mapper.geo import SRID, STORED_DECIMALS, on_grid
from mapper.store import version
from mapper.store.spatial import is_spatialite


def insert_rows(session, table, rows):
    """INSERT `rows` (dicts of column values, the same keys in each) into `table`."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    postgres = dialect.name != "sqlite"
    given = rows[0].keys()
    columns = [c for c in table.columns if c.key in given or c.default is not None]
    statement = None
    if not postgres:  # the columns in the order of the statement's placeholders
        keys = [c.key for c in columns]
        statement = table.insert().compile(dialect=dialect, column_keys=keys)
        columns = [columns[keys.index(key)] for key in statement.positiontup]
    values = []
    for column in columns:
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        if postgres:  # COPY's text: JSON as SQLAlchemy serialises it, the rest as they are
            process = _json_text(column.type) if isinstance(column.type, JSON) else None
        if column.key not in given:  # a callable default (a timestamp) is called once, as
            default = column.default  # now() is in SQL: the rows are written at one time
            value = default.arg if default.is_scalar else default.arg(None)
            cells = [value if process is None else process(value)] * len(rows)
        else:
            cells = [row[column.key] for row in rows]
            if hasattr(column.type, "srid"):
                cells = geometry_values(cells, postgres)
            elif process is not None and all(v is cells[0] for v in cells):
                cells = [process(cells[0])] * len(rows)  # one object (an import's note)
            elif process is not None:
                cells = [process(v) for v in cells]
        values.append(cells)
    version.note_write(session, table.name)  # as a Core INSERT through the session notes
    if postgres:
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(c.name) for c in columns)
        copy = f"COPY {dialect.identifier_preparer.format_table(table)} ({names}) FROM STDIN"
        driver = conn.connection.dbapi_connection
        try:
            with driver.cursor() as cursor, cursor.copy(copy) as target:
                for start in range(0, len(rows), COPY_ROWS):
                    block = [map(_copy_text, cells[start : start + COPY_ROWS]) for cells in values]
                    lines = ("\t".join(row) + "\n" for row in zip(*block, strict=True))
                    target.write("".join(lines))
        except dialect.loaded_dbapi.Error as error:  # as SQLAlchemy raises the driver's
            raise DBAPIError.instance(copy, None, error, dialect.loaded_dbapi.Error) from None
        _statistics_kept(session, table, len(rows))
        return
    _enlarge_page_cache(conn.connection.dbapi_connection)
    with _per_row_triggers_after(conn, table, rows):
        conn.exec_driver_sql(str(statement), list(zip(*values, strict=True)))


def _statistics_kept(session, table, added):
    """ANALYZE a PostGIS table that a load has grown to more than twice the rows its
    statistics know: planned as the near-empty table it was, the statements and triggers
    that join the load's rows to it (the category mask's, a foreign key's check) scan it
    whole for every chunk, ever longer as it grows. ANALYZE inside the transaction counts
    its own new rows."""
    grown = session.info.setdefault("bulk_rows_since_analyze", {})
    grown[table.name] = grown.get(table.name, 0) + added
    known = (
        session.connection()
        .exec_driver_sql(
            "SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %(table)s::regclass",
            {"table": table.name},
        )
        .scalar()
    )
    if grown[table.name] > max(known, ANALYZE_ROWS):
        session.connection().exec_driver_sql(f'ANALYZE "{table.name}"')
        grown[table.name] = 0


# Rows a load adds before its table's statistics are taken again (`_statistics_kept`).
ANALYZE_ROWS = 10_000

# Rows written to COPY at a time, as text (a row at a time through psycopg costs 3.5 µs).
COPY_ROWS = 10_000
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value):
    """Return a value as COPY's text format has it."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime.date):  # and datetime: ISO 8601 with its offset
        return value.isoformat()
    if isinstance(value, np.generic):  # a number from an array
        return _copy_text(value.item())
    raise TypeError(f"cannot COPY a {type(value).__name__}")


def _json_text(column_type):
    return lambda value: None if value is None and column_type.none_as_null else json.dumps(value)


@contextmanager
def _per_row_triggers_after(conn, table, rows):
    """On SpatiaLite, do what the per-row triggers on inserting into `table` do (20-40 µs a
    row each) in one statement each after the INSERT: the geometry constraint, the spatial
    index, its last-insert time and the category mask. They are dropped and put back inside
    the transaction, so no other connection sees them missing. Rows of a table with
    geometry must hold their ids (the rowid)."""
    after = _set_wise_triggers(table, rows)
    triggers = dict(
        conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? "
            f"AND name IN ({', '.join('?' * len(after))})",
            (table.name, *after),
        ).all()
    )
    for name in triggers:
        conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    try:
        yield
        for name, work in after.items():  # in order: the constraint first
            if name in triggers:
                work(conn)
    finally:
        for sql in triggers.values():
            conn.exec_driver_sql(sql)


def _set_wise_triggers(table, rows):
    """Return {per-row trigger name: do its work for `rows` at once(conn)}."""
    found = {}
    if table.name == "group_categories":  # migration 0029's, with the same effect
        found["group_categories_mask_insert"] = lambda conn: conn.exec_driver_sql(
            "UPDATE community_groups AS g SET category_mask = g.category_mask | new.bits "
            "FROM (SELECT value ->> 0 AS group_id, sum(1 << (value ->> 1)) AS bits "
            "FROM json_each(?) WHERE value ->> 1 BETWEEN 1 AND 62 GROUP BY 1) AS new "
            "WHERE g.id = new.group_id AND g.category_mask & new.bits <> new.bits",
            (json.dumps([[r["group_id"], r["category_id"]] for r in rows]),),
        )
    if "id" not in rows[0]:
        return found
    ids = json.dumps([row["id"] for row in rows])
    new = "SELECT value FROM json_each(?)"
    for column in (c.name for c in table.columns if hasattr(c.type, "srid")):
        suffix = f"{table.name}_{column}"
        where = (
            f"Lower(f_table_name) = Lower('{table.name}') "
            f"AND Lower(f_geometry_column) = Lower('{column}')"
        )

        def constrain(conn, column=column, where=where):
            bad = conn.exec_driver_sql(
                f'SELECT count(*) FROM "{table.name}" AS t WHERE rowid IN ({new}) AND '
                f"(SELECT geometry_type FROM geometry_columns WHERE {where} "
                f'AND GeometryConstraints(t."{column}", geometry_type, srid) = 1) IS NULL',
                (ids,),
            ).scalar()
            if bad:
                message = f"{table.name}.{column} violates Geometry constraint"
                raise IntegrityError(message, None, sqlite3.IntegrityError(message))

        def index(conn, column=column, index=f"idx_{suffix}"):
            conn.exec_driver_sql(f'DELETE FROM "{index}" WHERE pkid IN ({new})', (ids,))
            if _is_point(table.c[column]) and column in rows[0]:  # the point as stored
                conn.exec_driver_sql(
                    f'INSERT INTO "{index}" (pkid, xmin, xmax, ymin, ymax) VALUES (?, ?, ?, ?, ?)',
                    _point_boxes(rows, column),
                )
                return
            conn.exec_driver_sql(
                f'SELECT count(RTreeAlign(\'{index}\', rowid, "{column}")) FROM "{table.name}" '
                f"WHERE rowid IN ({new})",
                (ids,),
            )

        found[f"ggi_{suffix}"] = constrain
        found[f"gii_{suffix}"] = index
        found[f"tmi_{suffix}"] = lambda conn, where=where: conn.exec_driver_sql(
            "UPDATE geometry_columns_time SET last_insert = strftime('%Y-%m-%dT%H:%M:%fZ', "
            f"'now') WHERE {where}"
        )
    return found


def _is_point(column):
    return getattr(column.type, "geometry_type", None) == "POINT"


def _point_boxes(rows, column):
    """Return (id, x, x, y, y) of each row's point as `geometry_values` stores it."""
    found = [(row["id"], row[column]) for row in rows if row[column] is not None]
    if not found:
        return []
    xy = np.round(shapely.get_coordinates([point for _, point in found]), STORED_DECIMALS)
    return [(id_, x, x, y, y) for (id_, _), (x, y) in zip(found, xy.tolist(), strict=True)]


def geometry_values(geoms, postgres):
    """Return shapely geometries (or None) on the stored grid as each backend takes them:
    hex EWKB for PostGIS, EWKT text for SpatiaLite (as GeoAlchemy2 binds them)."""
    geoms = np.asarray(geoms, dtype=object)
    rounded = shapely.transform(geoms, lambda xy: np.round(xy, STORED_DECIMALS))
    areas = np.isin(shapely.get_type_id(geoms), (3, 6))  # polygons may need snapping
    for i in np.flatnonzero(areas & ~shapely.is_valid(rounded)):
        rounded[i] = on_grid(geoms[i])
    if postgres:
        with_srid = shapely.set_srid(rounded, SRID)
        return list(shapely.to_wkb(with_srid, hex=True, include_srid=True))
    texts = shapely.to_wkt(rounded, rounding_precision=-1)
    return [None if t is None else f"SRID={SRID};{t.replace(' (', '(', 1)}" for t in texts]


# SQLite's page cache for a connection that merges rows, in KiB: its default (2 MB) makes
# inserting 1.7 M postcodes read and write the same index pages again and again (19 s against
# 7 s for 0.8 M). The connection keeps it: bulk saves run in commands, whose process ends.
SQLITE_CACHE_KIB = 131_072


def _enlarge_page_cache(cursor):
    size = cursor.execute("PRAGMA cache_size").fetchone()[0]
    if size > -SQLITE_CACHE_KIB:  # fewer KiB than that (a positive size counts pages)
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")


def merge_rows(session, table, rows):
    """Insert or update `rows`, tuples of every column of `table` (a table of plain columns,
    no geometry) in its order, matched on its one-column primary key; keys must be distinct.

    Returns (added, updated); a row equal to the stored one (NULL equal to NULL) is neither.
    """
    if not rows:
        return 0, 0
    names = [column.name for column in table.columns]
    (key,) = (column.name for column in table.primary_key.columns)
    sqlite = is_spatialite(session)
    cursor = session.connection().connection.cursor()
    staged = f"{table.name}_merge"
    listed = ", ".join(f'"{n}"' for n in names)
    try:
        if sqlite:
            _enlarge_page_cache(cursor)
            cursor.execute(f'CREATE TEMP TABLE "{staged}" AS SELECT * FROM "{table.name}" WHERE 0')
            marks = ", ".join("?" for _ in names)
            cursor.executemany(f'INSERT INTO temp."{staged}" ({listed}) VALUES ({marks})', rows)
        else:
            cursor.execute(f'CREATE TEMP TABLE "{staged}" (LIKE "{table.name}") ON COMMIT DROP')
            with cursor.copy(f'COPY "{staged}" ({listed}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        # The stored rows are reached by their key, one probe per row: the planner, which
        # while a first import grows the table knows it as empty, would else hash or merge
        # join through all of it for each call.
        joins = () if sqlite else ("enable_hashjoin", "enable_mergejoin")
        for setting in joins:
            cursor.execute(f"SET LOCAL {setting} = off")
        distinct = "IS NOT" if sqlite else "IS DISTINCT FROM"
        others = [n for n in names if n != key]
        cursor.execute(
            f'UPDATE "{table.name}" SET '
            + ", ".join(f'"{n}" = s."{n}"' for n in others)
            + f' FROM "{staged}" s WHERE "{table.name}"."{key}" = s."{key}" AND ('
            + " OR ".join(f'"{table.name}"."{n}" {distinct} s."{n}"' for n in others)
            + ")"
        )
        updated = cursor.rowcount
        for setting in joins:
            cursor.execute(f"RESET {setting}")
        # Every stored key is updated or equal by now: what does not conflict is new. (NOT
        # EXISTS would do, but PostGIS plans it as a scan of the whole table per call.)
        cursor.execute(
            f'INSERT INTO "{table.name}" ({listed}) SELECT {listed} FROM "{staged}" WHERE true '
            f'ON CONFLICT ("{key}") DO NOTHING'
        )
        added = cursor.rowcount
        cursor.execute(f'DROP TABLE "{staged}"')
    finally:
        cursor.close()
    if added or updated:
        version.note_write(session, table.name)
    return added, updated


@contextmanager
def indexes_deferred(session, table, incoming, kept=(), links=()):
    """Build `table`'s secondary indexes once, after loading `incoming` rows, when that at
    least doubles the table: a sorted build is several times faster than a million inserts
    into each index. Those led by a column in `kept` (ones the load itself looks up by), its
    primary key and unique indexes stay. On PostGIS the foreign keys of `table` and of its
    `links` (tables of rows that belong to its rows) are checked once, after, too: one join
    instead of a look-up per row. Dropped and made again inside the transaction: on PostGIS
    other connections reading these tables wait for it to commit; on SQLite they go on
    reading the version before.
    """
    conn = session.connection()
    stored = conn.execute(select(func.count()).select_from(table)).scalar()
    if incoming < max(stored, BULK_INDEX_ROWS):
        yield
        return
    leading = {index.name: next(iter(index.columns)).name for index in table.indexes}
    if is_spatialite(session):
        found = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'",
            (table.name,),
        ).all()
    else:
        found = conn.exec_driver_sql(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %(table)s::regclass "
            "AND NOT x.indisunique AND NOT x.indisprimary",
            {"table": table.name},
        ).all()
    dropped = [(f'DROP INDEX "{n}"', sql) for n, sql in found if leading.get(n) not in kept]
    if not is_spatialite(session):
        for name in [table.name, *(link.name for link in links)]:
            keys = conn.exec_driver_sql(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %(table)s::regclass AND contype = 'f'",
                {"table": name},
            ).all()
            dropped += [
                (
                    f'ALTER TABLE "{name}" DROP CONSTRAINT "{key}"',
                    f'ALTER TABLE "{name}" ADD CONSTRAINT "{key}" {definition}',
                )
                for key, definition in keys
            ]
    for drop, _ in dropped:
        conn.exec_driver_sql(drop)
    yield
    for _, create in dropped:
        conn.exec_driver_sql(create)


# Below this many incoming rows, indexes are kept up as rows arrive (`indexes_deferred`).
BULK_INDEX_ROWS = 50_000
