"""Inserting many new rows below SQLAlchemy's per-row work: COPY on PostGIS, one executemany
of plain tuples on SQLite, both on the session's connection and so in its transaction.

Each value is converted as SQLAlchemy would bind it (its type's bind processor: dates, JSON);
a column no row names takes its Python default, per row, as SQLAlchemy's INSERT would; a
geometry column takes shapely geometries in lon/lat, put on the stored grid in one pass.
"""

import json
from contextlib import contextmanager

import numpy as np
import shapely

from mapper.geo import SRID, STORED_DECIMALS, on_grid
from mapper.store import version


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
    if table.name not in version.PRIVATE_TABLES:
        session.info[version.CHANGED] = True  # as a Core INSERT through the session notes
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
