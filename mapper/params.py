"""Parsing query parameters at the edge; each failure names the parameter and the reason."""

import math
import re
from datetime import date

from mapper.errors import BadRequest

GSS_CODE = re.compile(r"^[EWSNK]\d{8}$")
WORD = r"^[a-z0-9][a-z0-9 _-]*$"  # a slug or a kind of group, as `words` accepts them


def bad(name, reason):
    return BadRequest(f"Parameter '{name}': {reason}", fields={name: reason})


def codes(args, name):
    """Return the GSS codes given as `name` (repeated or comma-separated), upper-cased."""
    values = [v.strip().upper() for raw in args.getlist(name) for v in raw.split(",") if v.strip()]
    for value in values:
        if not GSS_CODE.match(value):
            raise bad(name, f"'{value}' is not a GSS code such as E05011350")
    return values


def is_word(value):
    """Tell whether `words` accepts `value` as one value."""
    return bool(re.match(WORD, value, re.IGNORECASE))


def words(args, name, pattern=WORD):
    """Return the values given as `name` (repeated or comma-separated)."""
    values = [v.strip() for raw in args.getlist(name) for v in raw.split(",") if v.strip()]
    for value in values:
        if not re.match(pattern, value, re.IGNORECASE):
            raise bad(name, f"'{value}' is not allowed")
    return values


def bbox(args, name="bbox"):
    """Return (min_lon, min_lat, max_lon, max_lat) or None."""
    raw = args.get(name)
    if raw is None:
        return None
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError:
        raise bad(name, "expected four numbers: min_lon,min_lat,max_lon,max_lat") from None
    if len(values) != 4:
        raise bad(name, "expected four numbers: min_lon,min_lat,max_lon,max_lat")
    min_lon, min_lat, max_lon, max_lat = values
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise bad(name, "must be lon/lat in WGS84 with min before max")
    return tuple(values)


def integer(args, name, default, minimum=None, maximum=None, cap=False):
    """Return an integer parameter; out of range is an error, or capped when `cap`."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad(name, f"'{raw}' is not a whole number") from None
    if minimum is not None and value < minimum:
        raise bad(name, f"must be at least {minimum}")
    if maximum is not None and value > maximum:
        if not cap:
            raise bad(name, f"must be at most {maximum}")
        value = maximum
    return value


def iso_date(args, name):
    """Return a YYYY-MM-DD parameter as a date, or None."""
    raw = args.get(name)
    if not raw:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise bad(name, f"'{raw}' is not a date in YYYY-MM-DD form")


# The gap analysis's query parameters and the compute_gaps arguments they fill.
GAP_ARGUMENTS = {"la": "la_codes", "ward": "ward_codes", "category": "categories", "kind": "kinds"}


def gap_filters(args):
    """Return the compute_gaps arguments given by `la`, `ward`, `category`, `kind`, `as_of`."""
    unknown = [name for name in args if name not in (*GAP_ARGUMENTS, "as_of")]
    if unknown:
        raise bad(unknown[0], "is not a parameter of the gap analysis")
    return {
        "la_codes": codes(args, "la"),
        "ward_codes": codes(args, "ward"),
        "categories": words(args, "category"),
        "kinds": words(args, "kind"),
        "as_of": iso_date(args, "as_of"),
    }


def unknown_values(error):
    """Turn compute_gaps's UnknownValues into a BadRequest naming the query parameter."""
    names = {argument: name for name, argument in GAP_ARGUMENTS.items()}
    return bad(names.get(error.argument, error.argument), f"unknown: {', '.join(error.values)}")


def number(args, name, default=None, minimum=None):
    """Return a decimal parameter, or `default` when absent."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise bad(name, f"'{raw}' is not a number") from None
    if not math.isfinite(value):
        raise bad(name, f"'{raw}' is not a number")
    if minimum is not None and value < minimum:
        raise bad(name, f"must be at least {minimum}")
    return value
