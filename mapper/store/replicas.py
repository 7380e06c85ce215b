"""Read replicas: PostgreSQL streaming replicas that take the read-only requests.

The primary takes every write. A replica is chosen for a read only when it is reachable, is
replaying the primary's WAL as it streams, is at most REPLICA_MAX_LAG_SECONDS behind, and has
replayed at least the WAL position the reader must see (the position of the reader's own last
write: read-your-writes). Otherwise the next replica is tried, then the primary. What is known
of each replica is kept for REPLICA_CHECK_SECONDS; one that cannot be reached is left alone for
REPLICA_RETRY_SECONDS. Which requests are read-only is for the HTTP layer to say
(`mapper.http.routing`); this module only knows databases.
"""

import itertools
import threading
import time

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

# Lag in seconds: none when the replica has replayed all it received (an idle primary sends
# nothing, and replay timestamps would grow old), else the age of the last transaction replayed
# (unknown, so "too far", when none has been replayed since the replica started).
STATUS = text(
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
    "(SELECT status FROM pg_stat_wal_receiver LIMIT 1), "
    "CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 1e9) END"
)


def parse_lsn(value):
    """Return a WAL position such as `16/B374D848` as a number, or None if it is not one."""
    try:
        high, low = str(value).split("/")
        return (int(high, 16) << 32) | int(low, 16)
    except (TypeError, ValueError):
        return None


def format_lsn(number):
    """Return a WAL position number in PostgreSQL's `16/B374D848` form."""
    return f"{number >> 32:X}/{number & 0xFFFFFFFF:X}"


class Replica:
    """One replica: its engine, sessions, and what was last seen of it."""

    def __init__(self, name, engine, retry_seconds=10):
        self.name = name
        self.engine = engine
        self.retry_seconds = retry_seconds
        self.Session = sessionmaker(engine, expire_on_commit=False)
        self.lock = threading.Lock()
        self.checked_at = float("-inf")
        self.down_until = float("-inf")
        self.replayed = None  # WAL position replayed, as a number
        self.lag = None  # seconds
        self.streaming = False

    def refresh(self, now):
        """Ask the replica how far it has replayed; return False if it cannot be reached."""
        try:
            with self.engine.connect() as conn:
                recovering, replayed, receiver, lag = conn.execute(STATUS).one()
        except Exception:  # noqa: BLE001 - any failure means "skip it for a while"
            self.mark_down(now)
            return False
        with self.lock:
            self.checked_at = now
            self.replayed = parse_lsn(replayed) if recovering else None
            self.streaming = bool(recovering) and receiver == "streaming"
            self.lag = float(lag or 0)
        return True

    def mark_down(self, now):
        """Leave the replica alone for its retry_seconds."""
        with self.lock:
            self.down_until = now + self.retry_seconds
            self.checked_at = float("-inf")


class ReplicaSet:
    """The replicas of one primary, and the choice of one for a read."""

    def __init__(self, urls, make_engine, max_lag=5, check_seconds=1, retry_seconds=10):
        self.replicas = []
        for number, url in enumerate(urls, 1):
            if make_url(url).get_backend_name() != "postgresql":
                raise ValueError(f"DATABASE_REPLICA_URLS: {url!r} is not a PostgreSQL URL")
            self.replicas.append(Replica(f"replica-{number}", make_engine(url), retry_seconds))
        self.max_lag = max_lag
        self.check_seconds = check_seconds
        self._turn = itertools.count()

    def usable(self, replica, needed, now):
        """Tell whether `replica` may answer a reader who must see WAL position `needed`."""
        if now < replica.down_until:
            return False
        if now - replica.checked_at >= self.check_seconds and not replica.refresh(now):
            return False
        caught_up = needed is None or (replica.replayed or 0) >= needed
        if not caught_up and replica.checked_at < now:  # it may have caught up since
            if not replica.refresh(now):
                return False
            caught_up = (replica.replayed or 0) >= needed
        return (
            replica.streaming
            and replica.replayed is not None
            and replica.lag <= self.max_lag
            and caught_up
        )

    def read_session(self, needed=None):
        """Return a session on a replica fit for the read, connected, or None for the primary."""
        if not self.replicas:
            return None
        start = next(self._turn)
        count = len(self.replicas)
        for offset in range(count):
            replica = self.replicas[(start + offset) % count]
            now = time.monotonic()
            if not self.usable(replica, needed, now):
                continue
            session = replica.Session()
            try:
                session.connection()  # checks out (and pings) a connection now
            except Exception:  # noqa: BLE001 - it went away since its check: skip it
                session.close()
                replica.mark_down(now)
                continue
            session.info["replica"] = replica.name
            return session
        return None

    def dispose(self):
        """Close every replica's connections."""
        for replica in self.replicas:
            replica.engine.dispose()


def primary_position(engine):
    """Return the primary's current WAL position (a number): what a reader must see next.

    The insert position, not pg_current_wal_lsn(): with synchronous_commit off a commit may
    return before its record is written out, and the written position would be behind it.
    """
    with engine.connect() as conn:
        position = conn.execute(text("SELECT pg_current_wal_insert_lsn()::text")).scalar_one()
        return parse_lsn(position)
