"""Security headers on every answer: a Content-Security-Policy of our own origin, and friends.

Every script and stylesheet is served by the app, so the policy allows only 'self'. The map
pages' one inline script (folium's map set-up, which holds no user string) carries the
request's nonce. Base-map tiles come from TILE_URL's origin, when it is set.
"""

import secrets
from urllib.parse import urlsplit

from flask import current_app, request

NONCE = "mapper.csp_nonce"  # kept in the request's environ: one nonce per answer
HSTS = "max-age=31536000; includeSubDomains"


def csp_nonce():
    """Return this request's nonce for the inline scripts it allows, making it on first use."""
    return request.environ.setdefault(NONCE, secrets.token_urlsafe(16))


def _origin(url):
    """Return the scheme://host[:port] of a tile URL template, or None."""
    parts = urlsplit(url or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}".replace("{s}", "*")
    return None


def content_security_policy(nonce=None, tile_url=""):
    """Return the policy: our own origin only, nothing may frame us."""
    scripts = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    images = " ".join(filter(None, ("'self'", "data:", _origin(tile_url))))
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self'",
            f"img-src {images}",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def _add_headers(response):
    config = current_app.config
    nonce = request.environ.get(NONCE)
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy", content_security_policy(nonce, config.get("TILE_URL"))
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app):
    """Add the headers to every answer and give templates `csp_nonce()`."""
    app.after_request(_add_headers)
    app.jinja_env.globals.update(csp_nonce=csp_nonce)
