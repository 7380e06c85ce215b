"""Defaults and limits; settings come from the environment, then from overrides."""

import os
from importlib import metadata
from pathlib import Path

PLACEHOLDER_SECRET_KEY = "change-me"  # noqa: S105 - the value we refuse in production

DEFAULTS = {
    "SECRET_KEY": PLACEHOLDER_SECRET_KEY,
    "DATABASE_URL": None,  # None: a SpatiaLite file in the instance folder
    "TILE_URL": "",  # empty: no base map
    "TILE_ATTRIBUTION": "",
    # Where the home map opens without filters: a local authority's code ("E08000003") or a
    # lon/lat box ("-2.32,53.34,-2.15,53.55"); empty: the extent of the current wards.
    "MAP_HOME": "",
    # Stated in every gap-analysis download; {vintage} becomes the wards' boundary vintage.
    "BOUNDARY_ATTRIBUTION": (
        "Source: Office for National Statistics licensed under the Open Government Licence "
        "v.3.0. Contains OS data © Crown copyright and database right {vintage}"
    ),
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # Browsers send Secure cookies to http://127.0.0.1 and http://localhost too, so only a
    # deployment served over plain HTTP on another host needs SESSION_COOKIE_SECURE=false.
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_NAME": "mapper_session",
    "PERMANENT_SESSION_LIFETIME": 8 * 60 * 60,  # seconds: a working day
    "SIGN_IN_MAX_FAILURES": 5,  # failed sign-ins in a row before the account is locked
    "SIGN_IN_LOCK_MINUTES": 15,
    # Bulk upload of groups from the web (/groups/upload): the largest file and most rows.
    "UPLOAD_MAX_BYTES": 20 * 1024 * 1024,
    "UPLOAD_MAX_ROWS": 50_000,
    "UPLOAD_FOLDER": None,  # None: uploads/ in the instance folder
    # Mail: "folder" writes each message as an .eml file in MAIL_FOLDER (the demo needs no
    # mail server); "smtp" sends it to SMTP_URL (smtp://user:password@host:587?starttls=1,
    # or smtps://host:465). Links in mail start with BASE_URL, never the request's Host.
    "MAIL_BACKEND": "folder",
    "MAIL_FOLDER": None,  # None: mail/ in the instance folder
    "SMTP_URL": "",
    "MAIL_FROM": "Community Mapper <noreply@localhost>",
    "MAIL_MAX_ATTEMPTS": 8,  # then a message is given up (logged) after about 8 hours
    "BASE_URL": "http://127.0.0.1:5000",
    "INVITATION_DAYS": 7,  # how long an invitation link works
    "RESET_MINUTES": 60,  # how long a password reset link works
    # Rate limits per client address (Flask-Limiter's notation; ";" separates several).
    "RATE_LIMIT_SIGN_IN": "30 per minute;300 per day",
    "RATE_LIMIT_API_WRITE": "600 per minute",
    "RATE_LIMIT_REPORT": "5 per hour;20 per day",  # "Tell us this has changed", anyone's
    "RATELIMIT_STORAGE_URI": None,  # None: counters in the app's own database
    # PostgreSQL timeouts, in seconds: a frozen database answers 503 within them, never hangs.
    "DATABASE_CONNECT_TIMEOUT": 5.0,
    "DATABASE_STATEMENT_TIMEOUT": 10.0,  # while answering a web request (MapIt's); 0: none
    "DATABASE_POOL_TIMEOUT": 5.0,  # waiting for a free connection of the pool (both backends)
    "HEALTH_TIMEOUT": 1.5,  # /healthz answers within this, whatever the database does
    # Logs: `text` or `json` (one object a line), and the app's level.
    "LOG_FORMAT": "text",
    "LOG_LEVEL": "INFO",
    # `mapper serve` (gunicorn). Uploads check up to 50,000 rows in one request: give them room.
    "SERVER_BIND": "127.0.0.1:5000",  # host:port, or several separated by commas
    "SERVER_WORKERS": 3,  # processes
    "SERVER_THREADS": 4,  # threads in each worker
    "SERVER_TIMEOUT": 300,  # seconds a request may take before its worker is restarted
    "SERVER_GRACEFUL_TIMEOUT": 30,  # seconds to finish requests on shutdown or reload
    "SERVER_KEEPALIVE": 5,  # seconds to keep an idle connection open
    "SERVER_ACCESS_LOG": "-",  # a file, `-` for stdout, or empty for none
    "SERVER_FORWARDED_ALLOW_IPS": "127.0.0.1",  # proxies trusted for X-Forwarded-*
    # PostgreSQL streaming replicas for the read-only requests (comma-separated URLs).
    "DATABASE_REPLICA_URLS": "",
    "REPLICA_MAX_LAG_SECONDS": 5.0,  # a replica further behind is skipped
    "REPLICA_CHECK_SECONDS": 1.0,  # how long what was seen of a replica is trusted
    "REPLICA_RETRY_SECONDS": 10.0,  # how long an unreachable replica is left alone
    # Seconds a browser or proxy may reuse a public data answer (JSON, GeoJSON, CSV) without
    # asking again; pages always revalidate (ETag, 304).
    "CACHE_MAX_AGE": 60,
    # Reach in the gap analysis (docs/gap-analysis.md): the walking distance in metres, the
    # detour factor (walking distance = straight line in British National Grid x this; 1.2
    # is a usual figure for streets) and what `priority` ranks by: "activity" or "reach".
    "REACH_METRES": 800.0,
    "REACH_DETOUR_FACTOR": 1.2,
    "PRIORITY_BY": "activity",
}

ENVIRONMENT_KEYS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "TILE_URL",
    "TILE_ATTRIBUTION",
    "MAP_HOME",
    "SESSION_COOKIE_SECURE",
    "BOUNDARY_ATTRIBUTION",
    "UPLOAD_MAX_BYTES",
    "UPLOAD_MAX_ROWS",
    "UPLOAD_FOLDER",
    "MAIL_BACKEND",
    "MAIL_FOLDER",
    "SMTP_URL",
    "MAIL_FROM",
    "BASE_URL",
    "INVITATION_DAYS",
    "RESET_MINUTES",
    "RATE_LIMIT_SIGN_IN",
    "RATE_LIMIT_API_WRITE",
    "RATE_LIMIT_REPORT",
    "RATELIMIT_STORAGE_URI",
    "DATABASE_CONNECT_TIMEOUT",
    "DATABASE_STATEMENT_TIMEOUT",
    "DATABASE_POOL_TIMEOUT",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "SERVER_BIND",
    "SERVER_WORKERS",
    "SERVER_THREADS",
    "SERVER_TIMEOUT",
    "SERVER_GRACEFUL_TIMEOUT",
    "SERVER_KEEPALIVE",
    "SERVER_ACCESS_LOG",
    "SERVER_FORWARDED_ALLOW_IPS",
    "DATABASE_REPLICA_URLS",
    "REPLICA_MAX_LAG_SECONDS",
    "REPLICA_CHECK_SECONDS",
    "REPLICA_RETRY_SECONDS",
    "CACHE_MAX_AGE",
    "REACH_METRES",
    "REACH_DETOUR_FACTOR",
    "PRIORITY_BY",
)
BOOLEAN_KEYS = ("SESSION_COOKIE_SECURE",)
INTEGER_KEYS = (
    "UPLOAD_MAX_BYTES",
    "UPLOAD_MAX_ROWS",
    "INVITATION_DAYS",
    "RESET_MINUTES",
    "SERVER_WORKERS",
    "SERVER_THREADS",
    "SERVER_TIMEOUT",
    "SERVER_GRACEFUL_TIMEOUT",
    "SERVER_KEEPALIVE",
    "CACHE_MAX_AGE",
)
FLOAT_KEYS = (  # seconds
    "DATABASE_CONNECT_TIMEOUT",
    "DATABASE_STATEMENT_TIMEOUT",
    "DATABASE_POOL_TIMEOUT",
    "REPLICA_MAX_LAG_SECONDS",
    "REPLICA_CHECK_SECONDS",
    "REPLICA_RETRY_SECONDS",
)
PLAIN_FLOAT_KEYS = ("REACH_METRES", "REACH_DETOUR_FACTOR")


PACKAGE = Path(__file__).resolve().parent
# The folders the app reads at run time besides its code. The repository keeps them at the top
# level; the wheel carries them inside the package (setup.py copies them there).
SHIPPED = ("templates", "static", "geodata", "docs")


def shipped_folder(name):
    """Return the folder of `templates`, `static`, `geodata` or `docs` the package came with.

    An installed wheel has it inside the package; a source checkout (and its editable install)
    keeps it beside the package, at the top of the repository.
    """
    if name not in SHIPPED:
        raise ValueError(f"{name!r} is not one of {SHIPPED}")
    inside = PACKAGE / name
    return inside if inside.is_dir() else PACKAGE.parent / name


def instance_path(environ=os.environ):
    """Return MAPPER_INSTANCE_PATH made absolute, or None for Flask's default instance folder.

    Flask's default is `instance/` beside the package in a source checkout and
    `PREFIX/var/mapper-instance` for an installed package.
    """
    value = environ.get("MAPPER_INSTANCE_PATH", "").strip()
    return os.path.abspath(os.path.expanduser(value)) if value else None


class ConfigError(RuntimeError):
    """The settings do not allow the app to start."""


def from_environment(environ=os.environ):
    """Return the settings named in ENVIRONMENT_KEYS that the environment sets."""
    settings = {key: environ[key] for key in ENVIRONMENT_KEYS if key in environ}
    for key in BOOLEAN_KEYS:
        if key in settings:
            settings[key] = settings[key].strip().lower() not in ("0", "false", "no", "off", "")
    for key in INTEGER_KEYS:
        if key in settings:
            try:
                settings[key] = int(settings[key].replace("_", ""))
            except ValueError:
                raise ConfigError(f"{key} must be a whole number, not {settings[key]!r}") from None
    for key in (*FLOAT_KEYS, *PLAIN_FLOAT_KEYS):
        if key in settings:
            try:
                settings[key] = float(settings[key])
            except ValueError:
                unit = " of seconds" if key in FLOAT_KEYS else ""
                raise ConfigError(f"{key} must be a number{unit}, not {settings[key]!r}") from None
    return settings


def check(config):
    """Refuse to run with mail settings that cannot work, or outside debug or testing with
    the placeholder SECRET_KEY."""
    backend = config.get("MAIL_BACKEND")
    if backend not in ("smtp", "folder"):
        raise ConfigError(f"MAIL_BACKEND must be smtp or folder, not {backend!r}")
    if backend == "smtp" and not str(config.get("SMTP_URL") or "").startswith(
        ("smtp://", "smtps://")
    ):
        raise ConfigError(
            "MAIL_BACKEND is smtp: set SMTP_URL, e.g. smtp://user:password@host:587?starttls=1"
        )
    if config.get("DEBUG") or config.get("TESTING"):
        return
    if not config.get("SECRET_KEY") or config["SECRET_KEY"] == PLACEHOLDER_SECRET_KEY:
        raise ConfigError(
            "SECRET_KEY is not set (or is the placeholder). Set the SECRET_KEY environment "
            "variable to a long random string, e.g. "
            "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')"
        )


def _release():
    try:
        return metadata.version("community-mapper")
    except metadata.PackageNotFoundError:
        return "source"


RELEASE = _release()  # the installed package's version: part of cache keys
