"""PostgreSQL connections that cannot hang: connect, statement and client-side timeouts.

A server that refuses is quick to notice; a frozen one (stopped, or a network that drops
packets) is not: the kernel still accepts the connection and acknowledges what is sent, and
a statement timeout is enforced by the very server that is frozen. So, besides the server's
`statement_timeout`, every wait for the server on a connection made here has a deadline of
its own, after which the connection is closed and the statement fails with an
OperationalError (which the app answers with a 503).

The statement timeouts apply while a web request is being answered; commands (imports, the
national gap analysis) run without them.
"""

import psycopg
from flask import has_request_context
from psycopg import errors as pg_errors

GRACE_SECONDS = 2.0  # how much longer than the server's own timeout the client waits


class TimedConnection(psycopg.Connection):
    """A psycopg connection whose waits for the server end at `wait_timeout` seconds."""

    wait_timeout = None  # seconds, or None for no limit
    statement_timeout = None  # seconds last set on the server, or None if never set

    def wait(self, gen, interval=0.1, timeout=None):
        """Wait for the server, at most `wait_timeout` seconds unless told otherwise."""
        try:
            return super().wait(
                gen, interval, timeout if timeout is not None else self.wait_timeout
            )
        except pg_errors._WaitTimeout:
            self.pgconn.finish()  # its state is unknown: never use it again
            raise psycopg.OperationalError(
                f"the database did not answer within {self.wait_timeout:g} s"
            ) from None


def connect_args(connect_timeout):
    """Return the psycopg connect arguments of a connect timeout in seconds."""
    return {"connect_timeout": max(int(connect_timeout), 2)} if connect_timeout else {}


def apply_statement_timeout(dbapi_connection, statement_timeout):
    """Give a checked-out connection the timeouts of a web request, or none for a command."""
    seconds = float(statement_timeout or 0) if has_request_context() else 0.0
    if dbapi_connection.statement_timeout == seconds:
        return
    dbapi_connection.wait_timeout = seconds + GRACE_SECONDS if seconds else None
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {int(seconds * 1000)}")
    dbapi_connection.commit()  # SET is undone by a rollback: make it the session's
    dbapi_connection.statement_timeout = seconds
