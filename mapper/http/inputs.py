"""Inputs declared once as pydantic models: query parameters and JSON bodies validated by the
model that also writes their part of the OpenAPI document (api/schemas.py).

A failure is the house's error: a 400 (query) or 422 (body) whose `fields` name each
parameter or member at fault and why, in words rather than pydantic's.
"""

import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from mapper.errors import Invalid
from mapper.http.params import WORD, bad, once, shorten
from mapper.store.models import MAX_ID

GSS_PATTERN = "^[EWSNKewsnk][0-9]{8}$"  # upper-cased when read
WORD_PATTERN = WORD.replace("[a-z0-9", "[A-Za-z0-9")  # a slug or kind, as params.words takes it
WHOLE_NUMBER = re.compile(r"[+-]?\d+")


def _whole_number(value):
    """Read a query value as an integer: digits only (no "1.0", "1_000" or spaces)."""
    if not isinstance(value, str):
        return value
    if not WHOLE_NUMBER.fullmatch(value):
        raise ValueError(f"'{shorten(value)}' is not a whole number")
    if len(value.lstrip("+-")) > 20:  # far out of any range (and int() of 5,000 digits is slow)
        return -(10**20) if value.startswith("-") else 10**20
    return int(value)


def _upper(value):
    return value.strip().upper() if isinstance(value, str) else value


def query_int(minimum, maximum):
    """Return the type of an integer query parameter from `minimum` to `maximum`.

    (Constraints go before the validator in `Annotated`, else the schema loses them.)
    """
    return Annotated[int, Field(ge=minimum, le=maximum), BeforeValidator(_whole_number)]


GssCode = Annotated[str, Field(pattern=GSS_PATTERN), BeforeValidator(_upper)]
Cursor = query_int(0, MAX_ID)  # an id to continue after, as the id columns hold it


class Query(BaseModel):
    """The query parameters of one operation. A list field takes the parameter repeated or
    its values separated by commas; any other field takes one value (given twice is a 400)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Body(BaseModel):
    """A JSON body: exact types (a number is not "1"), no member it does not declare."""

    model_config = ConfigDict(extra="forbid", strict=True)


def is_list(field):
    """Tell whether a model field takes a list of values."""
    return getattr(field.annotation, "__origin__", None) is list


def query_values(model, args):
    """Return the query string `args` (a MultiDict) as the input of `model`."""
    values = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in args:
            continue
        if is_list(field):
            values[key] = [v for raw in args.getlist(key) for v in raw.split(",") if v.strip()]
        else:
            values[key] = once(args, key)
    return values


def reason(error, extra="is not a parameter of this page"):
    """Return one pydantic error in the house's words."""
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    shown = f"'{shorten(value)}' " if isinstance(value, str) else ""
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return extra
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") == GSS_PATTERN:
            return f"{shown}is not a GSS code such as E05011350"
        return f"{shown}is not in the form {ctx.get('pattern')}"
    if kind in ("string_too_long", "too_long"):
        unit = "characters" if kind.startswith("string") else "values"
        return f"must be at most {ctx.get('max_length')} {unit}"
    if kind == "string_too_short":
        return "is required"
    if kind == "too_short":
        if ctx.get("min_length") == 1:
            return "give at least one value, or leave it out"
        return f"needs {ctx.get('min_length')} values"
    words = {
        "string_type": "must be text",
        "int_type": "must be a whole number",
        "int_parsing": f"{shown}is not a whole number",
        "int_from_float": "must be a whole number",
        "float_type": "must be a number",
        "float_parsing": f"{shown}is not a number",
        "finite_number": "must be a finite number",
        "bool_type": "must be true or false",
        "bool_parsing": "must be true or false",
        "list_type": "must be a list",
        "greater_than_equal": f"must be at least {ctx.get('ge')}",
        "less_than_equal": f"must be at most {ctx.get('le')}",
        "literal_error": f"{shown}must be one of: {ctx.get('expected')}",
        "enum": f"{shown}must be one of: {ctx.get('expected')}",
    }
    return words.get(kind, error["msg"][:1].lower() + error["msg"][1:])


def reasons(failure, extra="is not a parameter of this page", renamed=None):
    """Return {field: reason} of a ValidationError, by top-level name (first error each)."""
    fields = {}
    for error in failure.errors():
        name = str(error["loc"][0]) if error["loc"] else "body"
        fields.setdefault(name, reason(error, (renamed or {}).get(name, extra)))
    return fields


def parse_query(model, args):
    """Return `model` made from the query string `args`, or raise a 400 naming the parameter."""
    try:
        return model.model_validate(query_values(model, args))
    except ValidationError as failure:
        name, why = next(iter(reasons(failure).items()))
        raise bad(name, why) from None


def parse_body(model, data, what="body", extra="is not a field of this body", renamed=None):
    """Return `model` made from a JSON object, or raise a 422 naming every member at fault.

    `renamed` gives, for some undeclared members, the reason to give instead of `extra`.
    """
    if not isinstance(data, dict):
        raise Invalid(f"The {what} must be a JSON object.", fields={"body": "must be an object"})
    try:
        return model.model_validate(data)
    except ValidationError as failure:
        fields = reasons(failure, extra, renamed)
        raise Invalid(
            f"The {what} has invalid fields: " + ", ".join(sorted(fields)) + ".", fields=fields
        ) from None
