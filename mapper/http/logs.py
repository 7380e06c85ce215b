"""Request ids and structured logs: every request has an id, every log line names it.

The id comes from the `X-Request-ID` header when a proxy or client sent a sensible one, else it
is made here; the answer carries it back in `X-Request-ID`, the access log records it and the
500 page shows it, so a person's "incident" can be found in the logs. `LOG_FORMAT=json` writes
one JSON object a line (for journald, Loki, CloudWatch…); the default is plain text.
"""

import json
import logging
import re
import sys
import uuid
from datetime import UTC, datetime

from flask import g, has_request_context, request
from flask.logging import default_handler

HEADER = "X-Request-ID"
# A proxy's id (nginx's $request_id, a UUID, an AWS trace id) is kept; anything else is replaced,
# so that a client cannot write arbitrary text into the logs.
ACCEPTED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/-]{0,127}")
HANDLER_NAME = "mapper.http.logs"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# Attributes every LogRecord has: the JSON formatter writes only the others (the `extra`).
STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def request_id():
    """Return the current request's id, taking it from X-Request-ID or making one."""
    if "request_id" not in g:
        sent = request.headers.get(HEADER, "").strip()
        g.request_id = sent if ACCEPTED.fullmatch(sent) else uuid.uuid4().hex
    return g.request_id


class RequestContext(logging.Filter):
    """Add `request_id` (and the method and path) to every record logged during a request."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = request_id() if has_request_context() else "-"
        if has_request_context() and not hasattr(record, "path"):
            record.method, record.path = request.method, request.path
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON: time, level, logger, message and its extras."""

    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def formatter(log_format):
    """Return the formatter of LOG_FORMAT: `json`, or `text` (anything else is refused)."""
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT)
    raise ValueError(f"LOG_FORMAT must be 'text' or 'json', not {log_format!r}")


def configure(logger, log_format, level="INFO", stream=None):
    """Give `logger` one handler (to stderr) in LOG_FORMAT, replacing any this module added."""
    for handler in [h for h in logger.handlers if h.get_name() == HANDLER_NAME]:
        logger.removeHandler(handler)
    logger.removeHandler(default_handler)  # Flask's own, which this one replaces
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(RequestContext())
    logger.addHandler(handler)
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    return handler


def init_app(app):
    """Log the app's messages in LOG_FORMAT with request ids; answer with X-Request-ID."""
    configure(app.logger, app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])

    @app.before_request
    def _take_request_id():
        # First of the app's before_request functions (create_app registers this before the
        # rest), so that the id exists before anything can fail. Returns None: carry on.
        request_id()

    @app.after_request
    def _send_request_id(response):
        response.headers[HEADER] = request_id()
        return response
