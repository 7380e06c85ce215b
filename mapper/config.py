"""Defaults and limits; settings come from the environment, then from overrides."""

import os

PLACEHOLDER_SECRET_KEY = "change-me"  # noqa: S105 - the value we refuse in production

DEFAULTS = {
    "SECRET_KEY": PLACEHOLDER_SECRET_KEY,
    "DATABASE_URL": None,  # None: a SpatiaLite file in the instance folder
    "TILE_URL": "",  # empty: no base map
    "TILE_ATTRIBUTION": "",
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
}

ENVIRONMENT_KEYS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "TILE_URL",
    "TILE_ATTRIBUTION",
    "SESSION_COOKIE_SECURE",
    "BOUNDARY_ATTRIBUTION",
)
BOOLEAN_KEYS = ("SESSION_COOKIE_SECURE",)


class ConfigError(RuntimeError):
    """The settings do not allow the app to start."""


def from_environment(environ=os.environ):
    """Return the settings named in ENVIRONMENT_KEYS that the environment sets."""
    settings = {key: environ[key] for key in ENVIRONMENT_KEYS if key in environ}
    for key in BOOLEAN_KEYS:
        if key in settings:
            settings[key] = settings[key].strip().lower() not in ("0", "false", "no", "off", "")
    return settings


def check(config):
    """Refuse to run outside debug or testing with the placeholder SECRET_KEY."""
    if config.get("DEBUG") or config.get("TESTING"):
        return
    if not config.get("SECRET_KEY") or config["SECRET_KEY"] == PLACEHOLDER_SECRET_KEY:
        raise ConfigError(
            "SECRET_KEY is not set (or is the placeholder). Set the SECRET_KEY environment "
            "variable to a long random string, e.g. "
            "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')"
        )
