"""A throwaway copy of the embedded database, for a dry run that writes without locking.

A dry-run import saves its rows as a real one does (the later chunks, and the counts, must
see the earlier ones) and then rolls back. On SQLite those writes would hold the database's
one write lock for the whole run, so every other writer would queue behind a run that writes
nothing. Instead the dry run works on a copy made with SQLite's online backup API, which
needs only a read transaction on the real file (in WAL mode, writers carry on meanwhile),
and the copy is deleted afterwards. PostgreSQL locks rows, not the database: there the dry
run keeps to the real database and rolls back.
"""

import sqlite3
import tempfile
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from mapper.store import db, version


def database_file(session):
    """Return the path of the SQLite file behind `session`, or None (PostGIS, in memory)."""
    url = session.get_bind().url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def copy_database(source, target):
    """Copy the SQLite file `source` to `target` with the online backup API, in one step: a
    consistent snapshot, read under a read transaction only."""
    reader = sqlite3.connect(source, timeout=30)
    writer = sqlite3.connect(target)
    try:
        reader.backup(writer)
    finally:
        writer.close()
        reader.close()


@contextmanager
def dry_run_session(session):
    """Yield a session for a dry run: on SQLite one on a copy of the database, deleted when
    the block ends (beside the real file, which has room for it); else `session` itself.

    The block must use only the session it is given: objects loaded by `session` belong to
    the real database.
    """
    path = database_file(session)
    if path is None:
        yield session
        return
    with tempfile.TemporaryDirectory(prefix=".dry-run-", dir=path.parent) as folder:
        copy = Path(folder) / path.name
        copy_database(path, copy)
        engine = db.make_engine(f"sqlite:///{copy}", poolclass=NullPool)
        # A cache of its own: answers about the copy must never serve the real database.
        info = {
            version.CACHE: version.VersionedCache(),
            db.ANALYSIS_PARAMS: session.info.get(db.ANALYSIS_PARAMS, {}),
        }
        scratch = Session(engine, expire_on_commit=False, info=info)
        try:
            yield scratch
        finally:
            scratch.close()
            engine.dispose()
