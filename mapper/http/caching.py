"""HTTP caching of public reads: strong ETags from the data version, 304s, Cache-Control,
and a server-side cache of whole answers.

A public read is a GET or HEAD by someone signed out (no signed-in session, no flashed
message waiting, no Authorization header) of an endpoint of the public faces. Its ETag is
derived from the data version (`store.version`, stored in the database, so every worker and
instance agrees), the release, the day (some figures age: "not verified in 12 months"), the
URL, the Accept header and the encoding (`-gzip` ends the tag of a client accepting gzip). A
matching If-None-Match gets a 304 before the view runs; else the answer computed at this
version is served from the in-process LRU, or computed and kept. Text answers (HTML, JSON,
GeoJSON, CSV) over 1 KB are gzipped for a client that accepts it, once per version: the
compressed body is the one kept; private answers are gzipped on each request, at level 1.
A write anywhere bumps the version, so the next request is fresh on every instance.

Answers to a signed-in user are `Cache-Control: private, no-store`, whatever the endpoint.
"""

import gzip
import hashlib
from datetime import UTC, datetime

from flask import current_app, g, request, session
from werkzeug.datastructures import Headers

from mapper import config
from mapper.http import headers
from mapper.store import db, version

# Blueprints whose GET answers are the same for every signed-out reader.
PUBLIC_BLUEPRINTS = frozenset(
    {
        "web",
        "api",
        "ogc",
        "openreferral",
        "apidocs",
        "evidence",
        "decisions",
        "review",
        "whats_changed",
        "method",
        "services",
    }
)
# Endpoints of those blueprints that are not data reads (or cache themselves).
NOT_CACHED = frozenset({"web.healthz", "web.vendor", "web.map_place"})
PAGE_CACHE_CONTROL = "public, no-cache"  # pages: always revalidate (a 304 is cheap)
PRIVATE_CACHE_CONTROL = "private, no-store"
# Headers of a kept answer that depend on this response only.
UNKEPT_HEADERS = ("Set-Cookie", "Date", "Content-Length")
VARY = ("Accept", "Accept-Encoding")
GZIP = "gzip"
GZIP_LEVEL = 6  # of 9: most of the saving for a fraction of the time of 9
PRIVATE_GZIP_LEVEL = 1  # an answer compressed on every request
COMPRESS_MIN_BYTES = 1024  # smaller answers fit one packet anyway
# Besides text/*: JSON and XML of any kind (GeoJSON, OpenAPI, schemas, GML, SVG).
COMPRESSIBLE_SUFFIXES = ("/json", "+json", "/xml", "+xml")


def signed_in():
    """Tell whether the request comes from a signed-in session or carries credentials."""
    return "user_id" in session or "_flashes" in session or "Authorization" in request.headers


def is_public_read():
    """Tell whether this request is a public read whose answer may be shared."""
    return (
        request.method in ("GET", "HEAD")
        and request.blueprint in PUBLIC_BLUEPRINTS
        and request.endpoint not in NOT_CACHED
        and not signed_in()
    )


def accepted_encoding():
    """Return "gzip" when the client accepts a gzipped answer, else None."""
    return GZIP if request.accept_encodings[GZIP] > 0 else None


def compressible(response):
    """Tell whether an answer is text worth gzipping (and not encoded already)."""
    mimetype = response.mimetype or ""
    return (
        (mimetype.startswith("text/") or mimetype.endswith(COMPRESSIBLE_SUFFIXES))
        and "Content-Encoding" not in response.headers
        and (response.calculate_content_length() or 0) >= COMPRESS_MIN_BYTES
    )


def _entity_tag(data_version, encoding):
    day = datetime.now(UTC).date().isoformat()
    accept = request.headers.get("Accept", "")
    key = "\n".join((config.RELEASE, day, request.url, accept))
    digest = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
    return f"v{data_version}-{digest}" + (f"-{encoding}" if encoding else "")


def _cache_control(mimetype):
    if mimetype == "text/html":
        return PAGE_CACHE_CONTROL
    return f"public, max-age={current_app.config['CACHE_MAX_AGE']}"


def _check_cache():
    if not is_public_read():
        return None
    data_version = version.current(db.get_session())
    encoding = accepted_encoding()
    tag = _entity_tag(data_version, encoding)
    g.cache_entry = (data_version, tag, encoding)
    cache = db.get_db().cache
    kept = cache.get(("response", tag))
    if kept is not None and kept[3]:
        # The kept page's inline script carries its nonce: the policy sent with it must too.
        request.environ[headers.NONCE] = kept[3]
    if request.if_none_match.contains(tag):
        response = current_app.response_class(status=304)
        response.set_etag(tag)
        response.headers["Cache-Control"] = kept[2] if kept else _cache_control("text/html")
        response.vary.update(VARY)
        return response
    if kept is None:
        return None
    body, kept_headers, _cache_control_value, _nonce = kept
    response = current_app.response_class(body, headers=Headers(kept_headers))
    response.headers["X-Cache"] = "hit"
    return response


def _gzip(response, level):
    """Gzip a text answer in place for a client that accepts it; say it varies by encoding."""
    if response.direct_passthrough or response.is_streamed:
        return
    response.vary.add("Accept-Encoding")
    if accepted_encoding() == GZIP and compressible(response):
        # mtime 0: the same answer always gives the same bytes, as its strong ETag promises.
        response.set_data(gzip.compress(response.get_data(), level, mtime=0))
        response.headers["Content-Encoding"] = GZIP


def _private(response):
    response.headers["Cache-Control"] = PRIVATE_CACHE_CONTROL
    _gzip(response, PRIVATE_GZIP_LEVEL)  # per request, never kept: the fastest level
    return response


def _mark(response):
    entry = g.pop("cache_entry", None)
    if signed_in():
        return _private(response)
    if entry is None or response.status_code != 200 or "X-Cache" in response.headers:
        return response
    if response.direct_passthrough or response.is_streamed:
        return response  # a file sent as it is read: Flask's own conditional answers apply
    if session.modified:  # the view wrote something of this visitor's into the cookie
        return _private(response)
    _data_version, tag, encoding = entry
    response.set_etag(tag)
    response.vary.update(VARY)
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = _cache_control(response.mimetype)
    if encoding == GZIP:
        _gzip(response, GZIP_LEVEL)
    body = response.get_data()
    names = [(k, v) for k, v in response.headers.items() if k not in UNKEPT_HEADERS]
    kept = (body, names, response.headers["Cache-Control"], request.environ.get(headers.NONCE))
    db.get_db().cache.put(("response", tag), kept, size=len(body))
    response.headers["X-Cache"] = "miss"
    return response


def init_app(app):
    """Answer public reads from the version's ETag and cache; mark every other answer."""
    app.before_request(_check_cache)
    app.after_request(_mark)
