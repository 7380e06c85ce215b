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
}

ENVIRONMENT_KEYS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "TILE_URL",
    "TILE_ATTRIBUTION",
    "BOUNDARY_ATTRIBUTION",
)


class ConfigError(RuntimeError):
    """The settings do not allow the app to start."""


def from_environment(environ=os.environ):
    """Return the settings named in ENVIRONMENT_KEYS that the environment sets."""
    return {key: environ[key] for key in ENVIRONMENT_KEYS if key in environ}


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
