"""MapperError and its children; one place turns them into JSON or HTML."""

import logging
import uuid

from flask import g, jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class MapperError(Exception):
    """An error a user can act on; carries its HTTP status and a stable code."""

    status = 400
    code = "bad_request"

    def __init__(self, message, fields=None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class BadRequest(MapperError):
    """A query parameter or header is wrong (400)."""

    status, code = 400, "bad_request"


class Unauthorised(MapperError):
    """No credentials, or bad ones (401)."""

    status, code = 401, "unauthorised"


class Forbidden(MapperError):
    """The user may not do this (403)."""

    status, code = 403, "forbidden"


class NotFound(MapperError):
    """There is no such record (404)."""

    status, code = 404, "not_found"


class Conflict(MapperError):
    """The request clashes with what is stored (409)."""

    status, code = 409, "conflict"


class Invalid(MapperError):
    """Fields of a body or file are wrong (422)."""

    status, code = 422, "invalid"


class Unavailable(MapperError):
    """The database cannot be reached (503)."""

    status, code = 503, "unavailable"


def wants_json():
    """Tell whether the client should get JSON rather than a page."""
    if request.args.get("f") == "html":  # the OGC API's choice of an HTML answer
        return False
    if request.path.startswith(("/api/", "/ogc", "/openreferral")):
        return True
    # Downloads and data files: a page only for a browser that asks for one.
    if request.path.startswith("/gaps.") or request.path.endswith((".geojson", ".csv", ".json")):
        return not any(mimetype == "text/html" for mimetype, _ in request.accept_mimetypes)
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_body(code, message, fields=None):
    """Return the JSON error body: code, message and fields."""
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def respond(status, code, message, fields=None, reference=None):
    """Answer with the error as JSON for API clients or as a page for people.

    `reference` (the request id of an internal error) is shown, for people to quote.
    """
    if wants_json():
        body = error_body(code, message, fields)
        if reference:
            body["error"]["request_id"] = reference
        return jsonify(body), status
    page = render_template(
        "error.html",
        status=status,
        code=code,
        message=message,
        fields=fields or {},
        reference=reference,
        database_away=status >= 500,  # the footer asks the database nothing more
    )
    return page, status


def incident_id():
    """Return the id to quote for an internal error: the request's id (X-Request-ID)."""
    if "request_id" not in g:  # only when the app was built without mapper.http.logs
        g.request_id = uuid.uuid4().hex
    return g.request_id


def init_app(app):
    """Answer every error as JSON for machines and as a page for people."""

    @app.errorhandler(MapperError)
    def _mapper_error(error):
        return respond(error.status, error.code, error.message, error.fields)

    @app.errorhandler(HTTPException)
    def _http_error(error):
        code = (error.name or "error").lower().replace(" ", "_")
        body, status = respond(error.code, code, error.description)
        # Keep the error's own headers (a 405's Allow, a 401's WWW-Authenticate), not its type.
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        return body, status, headers

    @app.errorhandler(OperationalError)
    def _database_unavailable(error):
        incident = incident_id()
        log.error("database error %s: %s", incident, error)
        message = "The database is not available."
        return respond(503, "unavailable", message, reference=incident)

    @app.errorhandler(Exception)
    def _internal_error(error):
        incident = incident_id()
        log.exception("internal error %s", incident)
        return respond(500, "internal_error", "Something went wrong.", reference=incident)
