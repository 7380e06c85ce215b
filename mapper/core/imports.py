"""Running an import: a reading's rows saved in one transaction, each row's fate reported.

The `mapper import-*` commands and the web upload both go through `run_import`, so a file
gives the same result whichever way it arrives.
"""

from contextlib import nullcontext
from typing import NamedTuple

from sqlalchemy.exc import SQLAlchemyError

from mapper.errors import MapperError
from mapper.store import bulk, db, scratch
from mapper.store.models import Base

CHUNK = 5000  # rows saved at a time, so that progress moves


class Refused(MapperError):
    """The database refused an import; nothing was written."""

    status, code = 409, "import_refused"


class Outcome(NamedTuple):
    """What an import did, or would do: counts, and report lines from the save function."""

    added: int
    updated: int
    unchanged: int
    lines: list


def run_import(session, reading, save, write=True, progress=None, lock=None, apart=False):
    """Save a reading's rows in one transaction, committed only when `write`; return an Outcome.

    `save(session, rows, progress)` returns (added, updated, unchanged, report lines).
    `lock` names a table whose imports must wait for each other (two uploads at once).
    Raises Refused, naming the file, when the database refuses the rows.

    A dry run (not `write`) with `apart` saves into a copy of an SQLite database
    (store/scratch.py), so it takes no write lock; `save` must then touch only the session
    it is given. Without `apart`, a dry run on SQLite holds the write lock from its first
    INSERT to its rollback: the later chunks (and the counts) must see the earlier ones, in
    the same transaction, and SQLite gives back no lock before a transaction ends.
    """
    if apart and not write:
        with scratch.dry_run_session(session) as copy:
            return run_import(copy, reading, save, False, progress, lock)
    session.rollback()  # end any read-only transaction: the import starts a fresh one
    try:
        with db.transaction(session, commit=write):
            if lock:
                db.lock_for_import(session, lock)
            rows = reading.values()
            with _indexes_deferred(session, lock, len(rows)):
                outcome = Outcome(*save(session, rows, progress or (lambda _n: None)))
        if write:
            db.refresh_statistics(session)
    except SQLAlchemyError as error:
        raise Refused(
            f"{reading.source}: the database refused the import; nothing was written "
            f"({getattr(error, 'orig', None) or error})"
        ) from None
    return outcome


def _indexes_deferred(session, table_name, incoming):
    """Build the indexes of the table an import fills after it, when it at least doubles
    the table; those the import looks records up by (external ids) are kept up as it goes.
    The foreign keys of the tables referring to its rows are checked after it too."""
    if table_name is None:
        return nullcontext()
    tables = Base.metadata.tables
    table = tables[table_name]
    links = [t for t in tables.values() if any(k.column.table is table for k in t.foreign_keys)]
    return bulk.indexes_deferred(session, table, incoming, ("external_id",), links)


def in_chunks(save_part):
    """Return a save function that saves rows CHUNK at a time and reports progress.

    `save_part(session, rows)` returns (added, updated) for its rows.
    """

    def save(session, rows, progress):
        added = updated = 0
        for start in range(0, len(rows), CHUNK):
            part = rows[start : start + CHUNK]
            counts = save_part(session, part)
            added, updated = added + counts[0], updated + counts[1]
            progress(len(part))
        return added, updated, len(rows) - added - updated, []

    return save
