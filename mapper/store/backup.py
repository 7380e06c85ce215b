"""Backups of the whole database: an online, consistent copy, and putting one back.

SpatiaLite: SQLite's backup API copies the file page by page from one read snapshot, so
writers may go on meanwhile and the copy is still consistent; restoring copies a backup onto
the live file in one step, under SQLite's write lock, so it is all or nothing. PostGIS:
`pg_dump` in its custom format (one snapshot of the database), put back by `pg_restore` in a
single transaction. A backup is written to a temporary file beside FILE and renamed into place,
so a failed backup never leaves a half-written FILE; a restore checks its file first.
"""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from mapper.errors import Invalid, MapperError

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
KINDS = {"sqlite": "a SpatiaLite (SQLite) backup", "postgresql": "a PostgreSQL dump (pg_dump)"}


def backend_of(url):
    """Return `sqlite` or `postgresql`: which kind of backup the database at `url` makes."""
    name = make_url(url).get_backend_name()
    if name not in KINDS:
        raise Invalid(f"Backups are for SpatiaLite and PostGIS databases, not {name}")
    return name


def kind_of(path):
    """Return the kind of backup in the file at `path` (`sqlite`, `postgresql`) or None."""
    with open(path, "rb") as file:
        head = file.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    return None


def backup(url, path):
    """Write a consistent copy of the database at `url` to `path`; return its size in bytes."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        if backend_of(url) == "sqlite":
            _sqlite_backup(_sqlite_file(url), partial)
        else:
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                  f"--file={partial}", f"--dbname={libpq_url(url)}"], url)  # fmt: skip
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path.stat().st_size


def check_backup(url, path):
    """Raise Invalid unless `path` is a backup of our schema that the database at `url` takes.

    Returns the schema revision the backup was taken at.
    """
    path = Path(path)
    if not path.is_file():
        raise Invalid(f"{path}: no such file", {"file": "not found"})
    backend, kind = backend_of(url), kind_of(path)
    if kind != backend:
        found = KINDS.get(kind, "not a backup this program made")
        raise Invalid(f"{path} is {found}; the database needs {KINDS[backend]}", {"file": found})
    revision = _sqlite_revision(path) if kind == "sqlite" else _dump_revision(path)
    if not revision:
        raise Invalid(f"{path} is not a Community Mapper database", {"file": "no schema revision"})
    return revision


def restore(url, path):
    """Replace everything in the database at `url` with the backup at `path`, all or nothing.

    Nothing may be connected meanwhile (stop the app first; callers dispose their engines).
    Returns the backup's schema revision; the caller then migrates it to the latest.
    """
    revision = check_backup(url, path)
    if backend_of(url) == "sqlite":
        target = _sqlite_file(url)
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as source:
            live = sqlite3.connect(target, timeout=30)
            try:
                source.backup(live)  # one step: SQLite swaps every page under its write lock
            finally:
                live.close()
        source.close()
    else:
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
              "--single-transaction", "--exit-on-error", f"--dbname={libpq_url(url)}",
              str(path)], url)  # fmt: skip
    return revision


def libpq_url(url):
    """Return the database URL in the form libpq's tools (pg_dump, psql) take, less its password.

    The password goes in PGPASSWORD (see `_run`), never on a command line others can read.
    """
    return make_url(url).set(drivername="postgresql", password=None).render_as_string()


def _sqlite_file(url):
    database = make_url(url).database
    if not database or database == ":memory:":
        raise Invalid("An in-memory database cannot be backed up or restored")
    return database


def _sqlite_backup(database, partial):
    # The copy needs no SpatiaLite: pages are copied as they are, from one read snapshot.
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
    finally:
        copy.close()
        source.close()


def _sqlite_revision(path):
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise Invalid(f"{path} is damaged (SQLite's quick_check failed)")
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


def _dump_revision(path):
    listing = _run(["pg_restore", "--list", str(path)]).stdout
    if " TABLE public alembic_version " not in listing:
        return None
    sql = _run(["pg_restore", "--data-only", "--table=alembic_version", "--file=-", str(path)])
    lines = sql.stdout.split("COPY public.alembic_version (version_num) FROM stdin;\n", 1)
    return lines[1].split("\n", 1)[0].strip() if len(lines) == 2 else "unknown"


def _run(args, url=None):
    if shutil.which(args[0]) is None:
        raise MapperError(f"{args[0]} is not installed (Debian: apt-get install postgresql-client)")
    env = dict(os.environ)
    password = make_url(url).password if url else None
    if password:
        env["PGPASSWORD"] = str(password)
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()
        raise MapperError(f"{args[0]} failed: {message[-1] if message else done.returncode}")
    return done
