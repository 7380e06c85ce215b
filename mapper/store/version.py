"""The data version: one number every worker and instance agrees on, bumped by every write.

Every session that writes a public record (an ORM flush or a Core INSERT, UPDATE or DELETE
through the session) bumps `data_version.version` just before it commits, in the same
transaction, so a reader that sees the new data sees the new version and no reader sees the
new version before the data. ETags and the server-side caches are keyed by it. Writes that
no public answer shows (users, tokens, idempotency keys) leave it alone, so that signing in
does not empty every cache.

Each bump also writes a row of `data_changes`, the journal: the ids of the wards and the
lon/lat points of the groups and services the transaction changed, before and after (read
from the database around each flush), or NULL for "anything may have changed" (a write to
wards, categories or postcodes, a statement or bulk load on a table the gap analysis reads,
a flush of very many records). A cached answer at an older version can then be brought up
to date by recomputing only what those wards and points touch (`changes_between`).

The tables live outside the models' metadata: they are schema (migrations 0012 and 0031),
not records.
"""

import json
import threading
from collections import OrderedDict
from contextlib import contextmanager

import numpy as np
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    column,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    table,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mapper.geo import STORED_DECIMALS

metadata = MetaData()
data_version = Table(
    "data_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", BigInteger, nullable=False),
)
data_changes = Table(
    "data_changes",
    metadata,
    Column("version", BigInteger, primary_key=True, autoincrement=False),
    Column("wards", Text),  # a JSON list of ward ids; NULL: anything may have changed
    Column("points", Text),  # a JSON list of [lon, lat]
)
JOURNAL_KEPT = 1000  # versions of the journal kept

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
        "data_changes",
        "kept_answers",
        "alembic_version",
    }
)
CHANGED = "mapper_data_changed"
CACHE = "mapper_cache"
JOURNAL = "mapper_data_journal"  # {"wards": set, "points": set, "all": bool} of the transaction

# The tables the gap analysis reads; of them, the records whose changes are journalled by
# their wards and points (the others journal "anything").
ANALYSED_TABLES = frozenset(
    {
        "wards",
        "categories",
        "postcodes",
        "community_groups",
        "services",
        "group_categories",
        "group_wards_served",
        "service_categories",
    }
)
PLACED_TABLES = ("community_groups", "services")
# The tables of placed records and of their links that `placed_writes` journals.
PLACED_WRITES = frozenset(
    {*PLACED_TABLES, "group_categories", "group_wards_served", "service_categories"}
)
PLACED = "mapper_placed_writes"
FLUSH_LIMIT = 200  # more records than this in one flush journal "anything"
_placed = {
    name: table(name, column("id"), column("ward_id"), column("geom")) for name in PLACED_TABLES
}
_served = table("group_wards_served", column("group_id"), column("ward_id"))


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


def note_write(session, table_name=None):
    """Remember that this transaction wrote a public record by another way than the session's
    statements (its DBAPI connection, as bulk loads do), so that its commit bumps the version;
    the journal says anything may have changed unless `table_name` is one the analysis does
    not read."""
    if table_name in PRIVATE_TABLES:
        return
    session.info[CHANGED] = True
    if table_name in PLACED_WRITES and session.info.get(PLACED):
        return  # journalled by placed_writes
    if table_name is None or table_name in ANALYSED_TABLES:
        _journal(session)["all"] = True


@contextmanager
def placed_writes(session, ward_ids, lonlats):
    """Journal the wards and lon/lat points of the groups or services that the bulk writes
    made within place (new records, their categories and wards served), rather than
    "anything": a small import is then brought up to date like an edit. More than
    FLUSH_LIMIT points journal "anything", as a flush of that many records does."""
    journal = _journal(session)
    if len(journal["points"]) + len(lonlats) > FLUSH_LIMIT:
        journal["all"] = True
    elif not journal["all"]:
        journal["wards"].update(w for w in ward_ids if w is not None)
        stored = np.round(np.asarray(lonlats, dtype=float).reshape(-1, 2), STORED_DECIMALS)
        journal["points"].update(map(tuple, stored.tolist()))
    session.info[PLACED] = True
    try:
        yield
    finally:
        session.info.pop(PLACED, None)


def move_past(session, old):
    """After the data was replaced wholesale (a restore), make the version newer than `old`,
    the one before, and journal that anything may have changed, so that no ETag or kept answer
    of before is taken for the data now."""
    if current(session) < old:
        session.execute(update(data_version).where(data_version.c.id == 1).values(version=old))
    note_write(session)


def changes_between(session, since, until):
    """Return (ward ids, lon/lat points) changed from version `since` to `until`, or None when
    the journal does not say (a version missing, or one where anything may have changed)."""
    rows = session.execute(
        select(data_changes.c.wards, data_changes.c.points).where(
            data_changes.c.version > since, data_changes.c.version <= until
        )
    ).all()
    if len(rows) != until - since or any(wards is None for wards, _ in rows):
        return None
    wards = {ward for row in rows for ward in json.loads(row.wards)}
    points = {tuple(point) for row in rows for point in json.loads(row.points)}
    return wards, sorted(points)


def _journal(session):
    return session.info.setdefault(JOURNAL, {"wards": set(), "points": set(), "all": False})


def _note_places(session, objects):
    """Add to the journal the wards and points the placed `objects` have in the database now
    (their groups' wards served too); a record of another analysed table means anything."""
    journal = _journal(session)
    if journal["all"]:
        return
    ids = {name: [] for name in PLACED_TABLES}
    for obj in objects:
        name = getattr(type(obj), "__tablename__", None)
        if name in ids:
            state = inspect(obj)
            key = state.identity[0] if state.identity else state.dict.get("id")
            if key is not None:
                ids[name].append(key)
        elif name in ANALYSED_TABLES:
            journal["all"] = True
            return
    if sum(len(v) for v in ids.values()) > FLUSH_LIMIT:
        journal["all"] = True
        return
    connection = session.connection()
    for name, keys in ids.items():
        if not keys:
            continue
        placed = _placed[name].c
        lon, lat = func.ST_X(placed.geom), func.ST_Y(placed.geom)
        rows = connection.execute(select(placed.ward_id, lon, lat).where(placed.id.in_(keys)))
        for ward, x, y in rows:
            journal["wards"].add(ward)
            journal["points"].add((x, y))
        if name == "community_groups":
            served = select(_served.c.ward_id).where(_served.c.group_id.in_(keys))
            journal["wards"].update(connection.execute(served).scalars())
    journal["wards"].discard(None)
    journal["points"].discard((None, None))


@event.listens_for(Session, "before_flush")
def _note_places_before(session, _flush_context, _instances):
    """Journal where the records about to change or go are, before the flush moves them."""
    _note_places(session, (*session.dirty, *session.deleted))


@event.listens_for(Session, "after_flush")
def _note_places_after(session, _flush_context):
    """Journal where the records added or changed are, after the flush."""
    deleted = set(map(id, session.deleted))
    _note_places(session, [o for o in (*session.new, *session.dirty) if id(o) not in deleted])


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
        names = _table_names(state.statement)
        if not names <= PRIVATE_TABLES:
            state.session.info[CHANGED] = True
        if names & ANALYSED_TABLES:
            _journal(state.session)["all"] = True
    elif not state.is_select:
        verb = str(state.statement).lstrip().split(None, 1)[:1]
        if verb and verb[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            note_write(state.session)


@event.listens_for(Session, "before_commit")
def _bump_before_commit(session):
    """Bump the version in the committing transaction if it wrote a public record."""
    session.flush()
    if session.info.pop(CHANGED, False):
        bump(session)
        _write_journal(session)


def _write_journal(session):
    """Journal the version just bumped to; forget the journal's oldest rows now and then."""
    journal = session.info.pop(JOURNAL, None) or {"wards": (), "points": (), "all": False}
    now = current(session)
    values = {"version": now, "wards": None, "points": None}
    if not journal["all"]:
        values["wards"] = json.dumps(sorted(journal["wards"]))
        values["points"] = json.dumps(sorted(journal["points"]))
    session.execute(insert(data_changes).values(**values))
    if now % 100 == 0:
        session.execute(delete(data_changes).where(data_changes.c.version <= now - JOURNAL_KEPT))


@event.listens_for(Session, "after_rollback")
def _forget_changes(session):
    session.info.pop(CHANGED, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_journal(session, transaction):
    if transaction.parent is None:  # the whole transaction, not a savepoint within it
        session.info.pop(JOURNAL, None)


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
