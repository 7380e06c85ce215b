"""Saving many plain rows at once: loaded in bulk into a temporary table, then merged by key.

The rows travel through the session's own DBAPI connection, so they are written in the
session's transaction (committed or rolled back with it): COPY on PostGIS, one executemany
of plain tuples on SQLite. Two set-based statements then update the stored rows that differ
and insert the missing ones (INSERT … ON CONFLICT DO NOTHING). The writes do not pass
through the session's statements, so the data version is told of them (`version.note_write`).
"""

from mapper.store import version
from mapper.store.spatial import is_spatialite

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
        version.note_write(session)
    return added, updated
