"""Answers that took long to compute, kept in the database for every process and instance.

A gunicorn worker keeps the answers it computed in its own memory (`version.VersionedCache`);
a worker just started, or another instance, would compute the national gap analysis afresh.
So an answer that took at least KEEP_SECONDS is also kept in `kept_answers`, one row per
question, with the data version it was computed at. A process that has not got the answer in
memory reads it from there, at that version, and brings it up to date from the journal
(`core/gap_updates.py`) like one of its own; when that took it across KEEP_VERSIONS versions
or more, it keeps the answer so brought up to date, so that the next process starts nearer.

The row is written on a connection of its own once the session that computed it has ended its
transaction: on SQLite a commit from another connection in the middle of a transaction would
stop that transaction from writing afterwards. A row is only ever replaced by one of a newer
version. The body is a pickle, signed with the app's SECRET_KEY (HMAC-SHA256) so that nothing
but this app's own writes is ever unpickled; a row that does not check out, or that this
version of the code cannot read, is ignored. Rows kept before yesterday are deleted as new
ones are written. The table is schema (migration 0032), not records.
"""

import hashlib
import hmac
import logging
import pickle
from datetime import date, timedelta

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    LargeBinary,
    MetaData,
    Table,
    Text,
    delete,
    event,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

KEEP_SECONDS = 1.0  # answers quicker than this to compute are not worth a row
KEEP_VERSIONS = 10  # a kept answer this many versions behind is kept again once brought up
KEEPER = "mapper_keeper"  # the session info key of the Keeper
PENDING = "mapper_kept_pending"  # answers to write once the session's transaction ends

log = logging.getLogger(__name__)

metadata = MetaData()
kept_answers = Table(
    "kept_answers",
    metadata,
    Column("question", Text, primary_key=True),  # a digest of the question (`question_key`)
    Column("version", BigInteger, nullable=False),  # the data version it was computed at
    Column("kept_on", Date, nullable=False),
    Column("signature", Text, nullable=False),  # HMAC-SHA256 of the body
    Column("body", LargeBinary, nullable=False),
)


def question_key(*parts):
    """Return the row key of a question: a digest of the repr of its parts (plain values)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()


class Keeper:
    """Reads kept answers through a session and writes them with `engine` (the primary), on
    a connection with `write_options` (SQLite: BEGIN IMMEDIATE, see store/db.py)."""

    def __init__(self, engine, secret, write_options):
        self.engine, self.write_options = engine, write_options
        self._secret = str(secret).encode()

    def _sign(self, body):
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    def get(self, session, question):
        """Return (version, value) kept for `question` as the session's transaction sees it,
        or None (none kept, or one that does not check out)."""
        row = session.execute(
            select(kept_answers.c.version, kept_answers.c.signature, kept_answers.c.body).where(
                kept_answers.c.question == question
            )
        ).first()
        if row is None:
            return None
        body = bytes(row.body)
        if not hmac.compare_digest(row.signature, self._sign(body)):
            log.warning("kept answer %s is not signed with this SECRET_KEY: ignored", question)
            return None
        try:
            return row.version, pickle.loads(body)  # noqa: S301 - signed by this app above
        except Exception:  # noqa: BLE001 - written by another version of the code
            log.warning("kept answer %s could not be read: ignored", question, exc_info=True)
            return None

    def put_later(self, session, question, version, value):
        """Keep `value` for `question` at `version` once the session's transaction ends."""
        session.info.setdefault(PENDING, []).append((self, question, version, value))

    def put(self, question, version, value):
        """Write the row now, in a transaction of its own, unless a newer one is kept."""
        body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        values = {
            "question": question,
            "version": version,
            "kept_on": date.today(),
            "signature": self._sign(body),
            "body": body,
        }
        dialect = sqlite if self.engine.dialect.name == "sqlite" else postgresql
        statement = dialect.insert(kept_answers).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[kept_answers.c.question],
            set_={k: statement.excluded[k] for k in values if k != "question"},
            where=kept_answers.c.version < statement.excluded.version,
        )
        with self.engine.connect().execution_options(**self.write_options) as conn:
            conn.execute(statement)
            yesterday = date.today() - timedelta(days=1)
            conn.execute(delete(kept_answers).where(kept_answers.c.kept_on < yesterday))
            conn.commit()


@event.listens_for(Session, "after_transaction_end")
def _write_pending(session, transaction):
    """Write the answers kept during the session's transaction, now that it has ended. A
    failure is logged, never raised: the answer is kept in memory all the same."""
    if transaction.parent is not None or not session.info.get(PENDING):
        return
    for keeper, question, version, value in session.info.pop(PENDING):
        try:
            keeper.put(question, version, value)
        except Exception:  # noqa: BLE001 - a cache: the request it follows has its answer
            log.warning("could not keep the answer to %s", question, exc_info=True)
