"""Parsing query parameters at the edge; each failure names the parameter and the reason."""

import re
from datetime import date

from mapper.errors import BadRequest
from mapper.store.models import MAX_ID

GSS_CODE = re.compile(r"^[EWSNK]\d{8}$")
WORD = r"^[a-z0-9][a-z0-9 _-]*$"  # a slug or a kind of group, as `words` accepts them


def bad(name, reason):
    """Return a 400 naming the parameter and why it is wrong."""
    return BadRequest(f"Parameter '{name}': {reason}", fields={name: reason})


def only(args, *names):
    """Refuse query parameters other than `names` (a 400 naming the first one)."""
    for name in args:
        if name not in names:
            raise bad(name, "is not a parameter of this page")


# `crs` of a download: the names of lon/lat and of British National Grid a client may use.
DOWNLOAD_CRS = {
    "EPSG:4326": 4326,
    "CRS84": 4326,
    "OGC:CRS84": 4326,
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84": 4326,
    "http://www.opengis.net/def/crs/EPSG/0/4326": 4326,
    "EPSG:27700": 27700,
    "http://www.opengis.net/def/crs/EPSG/0/27700": 27700,
}

_DOWNLOAD_SRIDS = {name.upper(): srid for name, srid in DOWNLOAD_CRS.items()}


def download_crs(args):
    """Return (srid, the other parameters) of a download's `crs`: lon/lat when absent."""
    raw = once(args, "crs")
    srid = 4326 if raw is None else _DOWNLOAD_SRIDS.get(raw.upper())
    if srid is None:
        raise bad("crs", "must be EPSG:4326 (or CRS84) or EPSG:27700 (British National Grid)")
    rest = args.copy()
    rest.poplist("crs")
    return srid, rest


def once(args, name):
    """Return the one value of a single-valued parameter (None when absent); a 400 when it is
    repeated, rather than silently keeping the first."""
    values = args.getlist(name)
    if len(values) > 1:
        raise bad(name, "give it once (it takes one value)")
    return values[0] if values else None


def codes(args, name, blank=True):
    """Return the GSS codes given as `name` (repeated or comma-separated), upper-cased.

    Without `blank` (the machine interfaces) a parameter given with no code is a 400, not a
    filter that keeps everything; a form's empty field may mean "all" (`blank`).
    """
    if not blank and name in args and not any(v.strip() for v in args.getlist(name)):
        raise bad(name, "give at least one code, or leave the parameter out")
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
    raw = once(args, name)
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


def integer(args, name, default, minimum=None, maximum=MAX_ID, cap=False, blank=True):
    """Return an integer parameter; out of range is an error, or capped when `cap`.

    Without a `maximum` of its own it is at most MAX_ID, so that an id, a cursor or a page
    number always fits the database's integers (a page's offset too: pages hold at most
    a few thousand rows). An empty value is the default when `blank` (a form's empty
    field), else an error (the machine interfaces, whose document says a number).
    """
    raw = once(args, name)
    if raw is None or (raw == "" and blank):
        return default
    raw = raw.strip()
    if not re.fullmatch(r"[+-]?\d+", raw):
        raise bad(name, f"'{shorten(raw)}' is not a whole number")
    if len(raw.lstrip("+-")) > 20:  # far out of any range (and int() of 5,000 digits is slow)
        value = -(10**20) if raw.startswith("-") else 10**20
    else:
        value = int(raw)
    if minimum is not None and value < minimum:
        raise bad(name, f"must be at least {minimum}")
    if maximum is not None and value > maximum:
        if not cap:
            raise bad(name, f"must be at most {maximum}")
        value = maximum
    return value


def iso_date(args, name):
    """Return a YYYY-MM-DD parameter as a date (any day, 0001-01-01 to 9999-12-31), or None."""
    raw = once(args, name)
    if not raw:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise bad(name, f"'{shorten(raw)}' is not a date in YYYY-MM-DD form")


def shorten(value, width=40):
    """Return a value cut to `width` characters for an error message."""
    return value if len(value) <= width else value[: width - 1] + "…"


# The gap analysis's query parameters and the compute_gaps arguments they fill.
GAP_ARGUMENTS = {"la": "la_codes", "ward": "ward_codes", "category": "categories", "kind": "kinds"}


def unknown_values(error):
    """Turn compute_gaps's UnknownValues into a BadRequest naming the query parameter."""
    names = {argument: name for name, argument in GAP_ARGUMENTS.items()}
    names["reach_metres"] = "reach_m"
    return bad(names.get(error.argument, error.argument), f"unknown: {', '.join(error.values)}")


CHANGE_PARAMETERS = ("la", "ward", "from", "to", "from_snapshot", "to_snapshot")


def change_filters(args, allowed=CHANGE_PARAMETERS):
    """Return the choice of a change between two dates: la, ward, and for each side a day
    (`from`, `to`) or a snapshot id (`from_snapshot`, `to_snapshot`), not both."""
    unknown = [name for name in args if name not in allowed]
    if unknown:
        raise bad(unknown[0], "is not a parameter of the change between two dates")
    choice = {
        "la_codes": codes(args, "la"),
        "ward_codes": codes(args, "ward"),
        "from_day": iso_date(args, "from"),
        "to_day": iso_date(args, "to"),
        "from_id": integer(args, "from_snapshot", None, minimum=1),
        "to_id": integer(args, "to_snapshot", None, minimum=1),
    }
    for side in ("from", "to"):
        if choice[f"{side}_day"] and choice[f"{side}_id"]:
            raise bad(f"{side}_snapshot", f"give either {side} or {side}_snapshot, not both")
    if choice["from_day"] is None and choice["from_id"] is None:
        raise bad("from", "is required: a day (YYYY-MM-DD), or from_snapshot with an id")
    if choice["from_day"] and choice["to_day"] and choice["to_day"] < choice["from_day"]:
        raise bad("to", "must be on or after from")
    return choice
