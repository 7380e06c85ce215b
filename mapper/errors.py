"""MapperError and its children; one place turns them into JSON or HTML."""

import logging
import uuid

from flask import jsonify, render_template, request
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
    status, code = 400, "bad_request"


class Unauthorised(MapperError):
    status, code = 401, "unauthorised"


class Forbidden(MapperError):
    status, code = 403, "forbidden"


class NotFound(MapperError):
    status, code = 404, "not_found"


class Conflict(MapperError):
    status, code = 409, "conflict"


class Invalid(MapperError):
    status, code = 422, "invalid"


class Unavailable(MapperError):
    status, code = 503, "unavailable"


def wants_json():
    """Tell whether the client should get JSON rather than a page."""
    if request.args.get("f") == "html":  # the OGC API's choice of an HTML answer
        return False
    if request.path.startswith(("/api/", "/ogc", "/openreferral")):
        return True
    if request.path.startswith("/gaps."):  # downloads: a page only for a browser that asks
        return not any(mimetype == "text/html" for mimetype, _ in request.accept_mimetypes)
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_body(code, message, fields=None):
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def respond(status, code, message, fields=None):
    """Answer with the error as JSON for API clients or as a page for people."""
    if wants_json():
        return jsonify(error_body(code, message, fields)), status
    page = render_template(
        "error.html", status=status, code=code, message=message, fields=fields or {}
    )
    return page, status


def init_app(app):
    @app.errorhandler(MapperError)
    def _mapper_error(error):
        return respond(error.status, error.code, error.message, error.fields)

    @app.errorhandler(HTTPException)
    def _http_error(error):
        code = (error.name or "error").lower().replace(" ", "_")
        response = respond(error.code, code, error.description)
        return response

    @app.errorhandler(OperationalError)
    def _database_unavailable(error):
        incident = uuid.uuid4().hex[:12]
        log.error("database error %s: %s", incident, error)
        return respond(503, "unavailable", f"The database is not available (incident {incident}).")

    @app.errorhandler(Exception)
    def _internal_error(error):
        incident = uuid.uuid4().hex[:12]
        log.exception("internal error %s", incident)
        return respond(500, "internal_error", f"Something went wrong (incident {incident}).")
