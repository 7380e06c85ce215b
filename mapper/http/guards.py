"""What every request passes before a face sees it: ids within the id columns' range, query
values and bodies that the parsers and both database backends can take.

Registered once in create_app, so a route added later is guarded without asking.
"""

import io

from flask import Request, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from mapper.errors import BadRequest, Invalid
from mapper.io.text import text_problem
from mapper.store.models import MAX_ID

MAX_JSON_DEPTH = 32  # a group is two deep; nothing we accept needs more


def digits_up_to(largest):
    """Return a regular expression matching the decimal numbers from 0 to `largest`."""
    text = str(largest)
    choices = [rf"\d{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for place, digit in enumerate(text):
        low = "1" if place == 0 else "0"
        if digit > low:
            rest = len(text) - place - 1
            choices.append(
                f"{text[:place]}[{low}-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else "")
            )
    choices.append(text)
    return "(?:" + "|".join(choices) + ")"


class RecordId(IntegerConverter):
    """`<int:…>` in a route: an id the id columns can hold, else no route matches (404).

    Without it an id past 2**31 - 1 reaches PostgreSQL (an error, so a 500) and one past
    2**63 - 1 the SQLite driver (an OverflowError). The range is in the pattern itself, not
    only checked after matching: else a PATCH of a huge id would find the GET route's path
    and answer 405.
    """

    regex = digits_up_to(MAX_ID)


def json_problem(value):
    """Return (field, reason) for the first thing in a parsed JSON body we refuse, or None.

    Walks the value without recursion: too deep, or a key or string with a NUL byte or a
    lone surrogate. The field is the top-level member it is in ("body" for the whole).
    """
    pending = [(value, 1, None)]
    while pending:
        item, depth, field = pending.pop()
        if depth > MAX_JSON_DEPTH:
            return field or "body", f"is nested more than {MAX_JSON_DEPTH} deep"
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return field or "body", problem
        elif isinstance(item, dict):
            for key, member in item.items():
                name = field or key
                problem = text_problem(key)
                if problem:
                    return "body", f"has a member name that {problem.removeprefix('must ')}"
                pending.append((member, depth + 1, name))
        elif isinstance(item, list):
            pending.extend((member, depth + 1, field) for member in item)
    return None


class GuardedRequest(Request):
    """A request whose JSON body is refused (400/422 naming the field) when no part of the
    service could use it: nested too deep for the parser, or text the database cannot store."""

    def get_json(self, force=False, silent=False, cache=True):
        """Return the parsed JSON body, as Flask does, after the checks above."""
        try:
            value = super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            reason = f"is nested more than {MAX_JSON_DEPTH} deep"
            raise BadRequest(f"The body {reason}.", fields={"body": reason}) from None
        found = json_problem(value)
        if found:
            field, reason = found
            raise Invalid(f"{field} {reason}.", fields={field: reason})
        return value


def _check_values(values, what):
    """Raise a 400 naming the first of `values` (a MultiDict) the database could not store."""
    for name, value in values.items(multi=True):
        problem = text_problem(name) or text_problem(value)
        if problem:
            raise BadRequest(f"{what} '{name}' {problem}.", fields={name: problem})


def _read_chunked_body(limit):
    """Read a chunked body now, up to one byte past `limit` (413 if it has that byte), and
    hand it on with its length, as if it had been sent with a Content-Length.

    Werkzeug stops reading a chunked body at the limit and hands on the first `limit` bytes
    as if they were all of it, so an over-long JSON body was a 400 (cut short), not a 413.
    """
    source = request.environ["wsgi.input"]
    wanted = None if limit is None else limit + 1
    data = bytearray()
    while wanted is None or len(data) < wanted:
        chunk = source.read(65536 if wanted is None else min(65536, wanted - len(data)))
        if not chunk:
            break
        data += chunk
    if limit is not None and len(data) > limit:
        raise RequestEntityTooLarge()
    request.environ["wsgi.input"] = io.BytesIO(bytes(data))
    request.environ["CONTENT_LENGTH"] = str(len(data))


def _check_request():
    """Refuse query and form values the database cannot take, and bodies over the limit
    however they are sent."""
    _check_values(request.args, "Parameter")
    limit = request.max_content_length
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        _read_chunked_body(limit)
    if limit is not None and request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        _check_values(request.form, "Field")


def init_app(app):
    """Guard every route: ids in range in URLs, query values, JSON bodies and their size.

    Call before the blueprints are registered (their rules take the `int` converter then)
    and after the hooks that change a request's size limit.
    """
    app.url_map.converters["int"] = RecordId
    app.request_class = GuardedRequest
    app.before_request(_check_request)
