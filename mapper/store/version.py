"""The data version: one number every worker and instance agrees on, bumped by every write.

Every session that writes a public record (an ORM flush or a Core INSERT, UPDATE or DELETE
through the session) bumps `data_version.version` just before it commits, in the same
transaction, so a reader that sees the new data sees the new version and no reader sees the
new version before the data. ETags and the server-side caches are keyed by it. Writes that
no public answer shows (users, tokens, idempotency keys) leave it alone, so that signing in
does not empty every cache.

The table lives outside the models' metadata: it is schema (migration 0012), not a record.
"""

import threading
from collections import OrderedDict

from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

metadata = MetaData()
data_version = Table(
    "data_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", BigInteger, nullable=False),
)

# Tables whose writes no public page, download or API answer shows by themselves (an audit
# event always goes with the change it records, which bumps the version).
PRIVATE_TABLES = frozenset(
    {
        "users",
        "api_tokens",
        "idempotency_keys",
        "audit_events",
        "pending_changes",
        "ward_subscriptions",
        "data_version",
        "alembic_version",
    }
)
CHANGED = "mapper_data_changed"
CACHE = "mapper_cache"


def current(session):
    """Return the data version this session's transaction sees (0 before migration 0012's row)."""
    value = session.execute(select(data_version.c.version).where(data_version.c.id == 1))
    return value.scalar() or 0


def bump(session):
    """Add one to the data version inside the session's transaction."""
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    statement = dialect.insert(data_version).values(id=1, version=2)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[data_version.c.id],
            set_={"version": data_version.c.version + 1},
        )
    )


def note_write(session):
    """Remember that this transaction wrote a public record by another way than the session's
    statements (its DBAPI connection, as bulk loads do), so that its commit bumps the version."""
    session.info[CHANGED] = True


def _table_names(statement):
    table = getattr(statement, "table", None)
    return {getattr(table, "name", None)}


@event.listens_for(Session, "after_flush")
def _note_flushed_changes(session, _flush_context):
    """Remember that this transaction wrote a public record through the ORM."""
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(type(obj), "__tablename__", None)
        if table not in PRIVATE_TABLES and (obj not in session.dirty or session.is_modified(obj)):
            session.info[CHANGED] = True
            return


@event.listens_for(Session, "do_orm_execute")
def _note_statement_changes(state):
    """Remember that this transaction ran an INSERT, UPDATE or DELETE on a public table."""
    if state.is_insert or state.is_update or state.is_delete:
        if not _table_names(state.statement) <= PRIVATE_TABLES:
            state.session.info[CHANGED] = True
    elif not state.is_select:
        verb = str(state.statement).lstrip().split(None, 1)[:1]
        if verb and verb[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            state.session.info[CHANGED] = True


@event.listens_for(Session, "before_commit")
def _bump_before_commit(session):
    """Bump the version in the committing transaction if it wrote a public record."""
    session.flush()
    if session.info.pop(CHANGED, False):
        bump(session)


@event.listens_for(Session, "after_rollback")
def _forget_changes(session):
    session.info.pop(CHANGED, None)


class VersionedCache:
    """A small thread-safe LRU of computed answers, in this process only.

    Keys start with the data version they were computed at, so a write anywhere makes every
    older entry unreachable at once (they age out of the LRU); nothing needs invalidating.
    `max_bytes` bounds the sizes the caller reports.
    """

    def __init__(self, max_entries=256, max_bytes=256 * 1024 * 1024):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._entries = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key):
        """Return the value stored under `key`, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key, value, size=1):
        """Store `value` under `key`, dropping the least recently used entries past the bounds."""
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (value, size)
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def clear(self):
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0


def cache_of(session):
    """Return the VersionedCache of the session's Database (see store.db.Database)."""
    return session.info.get(CACHE)


def per_version(session, name, build):
    """Return `build()` as kept for the data version this session sees (built afresh while the
    session holds writes of its own, which that version does not count yet)."""
    cache = cache_of(session)
    if (
        cache is None
        or session.new
        or session.dirty
        or session.deleted
        or session.info.get(CHANGED)
    ):
        return build()
    key = (name, current(session))
    value = cache.get(key)
    if value is None:
        value = build()
        cache.put(key, value, size=len(repr(value)))
    return value
