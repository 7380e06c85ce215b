"""Which requests may read from a replica, and read-your-writes across requests and instances.

Anonymous GET and HEAD requests are read-only: they go to a replica (`store.db` picks one, or
falls back to the primary). Everything else goes to the primary: writes, and every request of
a signed-in user or a bearer token (small in number, and checking a token may write its
last-used time). After a write the answer sets a short-lived cookie holding the primary's WAL
position; while the client sends it back, its reads go only to a replica that has replayed
that far, else to the primary, so a person sees their own change at once on any instance.
"""

from flask import current_app, request, session

from mapper.store import db
from mapper.store.replicas import format_lsn, parse_lsn

READ_ONLY_METHODS = ("GET", "HEAD")
COOKIE = "mapper_wrote"
# Past this a replica that has not replayed the write is lagging anyway, and skipped.
COOKIE_SECONDS = 60


def is_read_only():
    """Tell whether this request may be answered from a replica."""
    if request.method not in READ_ONLY_METHODS or "Authorization" in request.headers:
        return False
    # Opening the session only when there is a cookie keeps cookie-less answers free of
    # `Vary: Cookie` (a shared cache may keep them).
    has_cookie = current_app.config["SESSION_COOKIE_NAME"] in request.cookies
    return not has_cookie or session.get("user_id") is None


def init_app(app):
    """Route read-only requests to replicas when DATABASE_REPLICA_URLS names some."""
    if "mapper.replicas" not in app.extensions:
        return

    @app.before_request
    def _route_reads():
        if is_read_only():
            db.read_from_replica(parse_lsn(request.cookies.get(COOKIE)))

    @app.after_request
    def _remember_the_write(response):
        if request.method not in READ_ONLY_METHODS and response.status_code < 500:
            position = db.primary_position()
            if position is not None:
                response.set_cookie(
                    COOKIE,
                    format_lsn(position),
                    max_age=COOKIE_SECONDS,
                    secure=app.config["SESSION_COOKIE_SECURE"],
                    httponly=True,
                    samesite="Lax",
                )
        return response
