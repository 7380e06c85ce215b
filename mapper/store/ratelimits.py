"""Rate-limit counters in the app's own database, shared by every worker and process.

A storage for the `limits` library (and so Flask-Limiter), registered as `mapperdb://`: fixed
windows, one row per key, counted by one atomic INSERT … ON CONFLICT DO UPDATE … RETURNING on
both backends, on a small engine of its own (per database URL, that of the current app) so
that counting never waits for a request's pool.
"""

import random
import threading
import time

from flask import current_app
from limits.storage import Storage
from sqlalchemy import case, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from mapper.store import db
from mapper.store.models import RateLimitCounter

COUNTERS = RateLimitCounter.__table__
PURGE_ONE_IN = 500  # about one count in this many also deletes the expired rows
_ENGINES = {}  # DATABASE_URL -> engine: every app on one database shares its counters' pool
_ENGINES_LOCK = threading.Lock()


class DatabaseStorage(Storage):
    """Fixed-window counters in the rate_limit_counters table (`mapperdb://`, option `url`)."""

    STORAGE_SCHEME = ["mapperdb"]

    def __init__(self, uri=None, wrap_exceptions=False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def engine(self):
        """The small engine of the current app's database (one per URL, made on first use)."""
        url = current_app.config["DATABASE_URL"]
        with _ENGINES_LOCK:
            if url not in _ENGINES:
                _ENGINES[url] = db.make_engine(url, pool_size=2, max_overflow=4)
            return _ENGINES[url]

    @property
    def base_exceptions(self):
        """The errors of the database: Flask-Limiter may swallow them."""
        return SQLAlchemyError

    def _writing(self, engine=None):
        connection = (engine or self.engine).connect()
        return connection.execution_options(**{db.WRITE: True})

    def incr(self, key, expiry, amount=1):
        """Count `amount` hits of `key`, starting a window of `expiry` seconds if none is open."""
        now = time.time()
        engine = self.engine
        dialect = sqlite if db.is_spatialite(engine) else postgresql
        expired = COUNTERS.c.expires_at <= now
        statement = (
            dialect.insert(COUNTERS)
            .values(key=key, hits=amount, expires_at=now + expiry)
            .on_conflict_do_update(
                index_elements=["key"],
                set_={
                    "hits": case((expired, amount), else_=COUNTERS.c.hits + amount),
                    "expires_at": case((expired, now + expiry), else_=COUNTERS.c.expires_at),
                },
            )
            .returning(COUNTERS.c.hits)
        )
        with self._writing(engine) as conn, conn.begin():
            hits = conn.execute(statement).scalar_one()
            if random.randrange(PURGE_ONE_IN) == 0:  # noqa: S311 - not for secrets
                conn.execute(delete(COUNTERS).where(COUNTERS.c.expires_at < now))
        return hits

    def get(self, key):
        """Return the hits of `key` in its open window (0 if none)."""
        query = select(COUNTERS.c.hits).where(
            COUNTERS.c.key == key, COUNTERS.c.expires_at > time.time()
        )
        with self.engine.connect() as conn:
            return conn.execute(query).scalar() or 0

    def get_expiry(self, key):
        """Return when the window of `key` ends (seconds since the epoch)."""
        query = select(COUNTERS.c.expires_at).where(COUNTERS.c.key == key)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar() or time.time()

    def check(self):
        """Tell whether the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def reset(self):
        """Forget every counter; return how many there were."""
        with self._writing() as conn, conn.begin():
            return conn.execute(delete(COUNTERS)).rowcount

    def clear(self, key):
        """Forget the counter of `key`."""
        with self._writing() as conn, conn.begin():
            conn.execute(delete(COUNTERS).where(COUNTERS.c.key == key))
