"""Writing many rows below SQLAlchemy's per-row work, on the session's own connection and
so in its transaction: COPY on PostGIS, one executemany of plain tuples on SQLite.

`insert_rows` inserts new rows: each value converted as SQLAlchemy would bind it (its type's
bind processor: dates, JSON); a column no row names takes its Python default, per row, as
SQLAlchemy's INSERT would; a geometry column takes shapely geometries in lon/lat, put on the
stored grid in one pass.

`merge_rows` inserts or updates plain rows by key: loaded in bulk into a temporary table,
then two set-based statements update the stored rows that differ and insert the missing ones
(INSERT … ON CONFLICT DO NOTHING). Its writes do not pass through the session's statements,
so the data version is told of them (`version.note_write`).
"""

import json
from contextlib import contextmanager

import numpy as np
import shapely

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
        if column.key in given:
            cells = [row[column.key] for row in rows]
        elif column.default.is_scalar:
            cells = [column.default.arg] * len(rows)
        else:  # a callable default (a timestamp): called per row, as SQLAlchemy does
            cells = [column.default.arg(None) for _ in rows]
        if hasattr(column.type, "srid"):
            cells = geometry_values(cells, postgres)
        else:
            process = column.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                cells = [process(v) for v in cells]
        values.append(cells)
    version.note_write(session, table.name)  # as a Core INSERT through the session notes
    tuples = list(zip(*values, strict=True))
    if postgres:
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(c.name) for c in columns)
        copy = f"COPY {dialect.identifier_preparer.format_table(table)} ({names}) FROM STDIN"
        with conn.connection.dbapi_connection.cursor() as cursor, cursor.copy(copy) as target:
            for row in tuples:
                target.write_row(row)
        return
    geometry = [c.name for c in columns if hasattr(c.type, "srid")]
    with _index_filled_after(conn, table, geometry, rows):
        conn.exec_driver_sql(str(statement), tuples)


@contextmanager
def _index_filled_after(conn, table, geometry, rows):
    """On SpatiaLite, fill the spatial indexes of the rows' geometry in one statement each
    after the INSERT, not in SpatiaLite's per-row trigger (about 0.1 ms a row): the trigger is
    dropped and put back inside the transaction, so no other connection sees it missing.
    The rows must hold their ids (the rowid)."""
    triggers = {}
    for column in geometry if "id" in rows[0] else ():
        name = f"gii_{table.name}_{column}"
        found = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,)
        ).scalar()
        if found:
            triggers[column] = found
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    try:
        yield
        ids = json.dumps([row["id"] for row in rows]) if triggers else None
        for column in triggers:  # what the trigger does, for every new row at once
            index = f"idx_{table.name}_{column}"
            new = "SELECT value FROM json_each(?)"
            conn.exec_driver_sql(f'DELETE FROM "{index}" WHERE pkid IN ({new})', (ids,))
            conn.exec_driver_sql(
                f'SELECT count(RTreeAlign(\'{index}\', rowid, "{column}")) FROM "{table.name}" '
                f"WHERE rowid IN ({new})",
                (ids,),
            )
    finally:
        for sql in triggers.values():
            conn.exec_driver_sql(sql)


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
