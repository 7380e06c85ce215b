"""Rate limits per client (Flask-Limiter) on signing in and on the write API.

The counters live in the app's own database (`store.ratelimits`, `mapperdb://`), so every
worker and process shares them; RATELIMIT_STORAGE_URI may name another storage (`redis://…`).
The limits come from the configuration (RATE_LIMIT_SIGN_IN, RATE_LIMIT_API_WRITE,
RATE_LIMIT_REPORT: readers' notes about a group). A client
over a limit gets 429 with Retry-After. Clients are told apart by their address: behind a
proxy, make `request.remote_addr` the client's (werkzeug's ProxyFix).
"""

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

import mapper.store.ratelimits  # noqa: F401 - registers the mapperdb:// storage

limiter = Limiter(key_func=get_remote_address)


def _setting(name):
    return lambda: current_app.config[name]


TOO_MANY = "Too many requests from your address. Wait a little (see Retry-After) and try again."

sign_in_limit = limiter.limit(
    _setting("RATE_LIMIT_SIGN_IN"), methods=["POST"], error_message=TOO_MANY
)
report_limit = limiter.limit(
    _setting("RATE_LIMIT_REPORT"), methods=["POST"], error_message=TOO_MANY
)
api_write_limit = limiter.shared_limit(
    _setting("RATE_LIMIT_API_WRITE"),
    scope="api-write",
    methods=["POST", "PATCH", "PUT", "DELETE"],
    error_message=TOO_MANY,
)


def init_app(app):
    """Count in the app's database unless RATELIMIT_STORAGE_URI says otherwise."""
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = "mapperdb://"  # the current app's database
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)  # a database outage answers 503
    limiter.init_app(app)
