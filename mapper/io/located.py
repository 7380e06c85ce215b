"""Readers of located records: community groups, services and coordinators, and the demo data."""

import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
from shapely.geometry import Point

from mapper import config, geo
from mapper.errors import Invalid
from mapper.io.areas import read_postcodes, read_wards
from mapper.io.columns import (
    LOCATION_FIELDS,
    POSTCODE_NAMES,
    choose_columns,
    data_columns,
    locate_cells,
    lonlat_points,
    parse_count,
    parse_date,
    require,
    shorten,
    split_list,
    text,
)
from mapper.io.identifiers import parse_org_ids
from mapper.io.reading import Reading, is_geo, read_any, records, where_label
from mapper.io.text import LONGEST_TEXT, clean_text, text_problem, web_address_problem
from mapper.store.models import (
    STATUSES,
    CommunityGroup,
    Coordinator,
    Postcode,
    Service,
    location_column,
)

DEMO_FOLDER = config.shipped_folder("geodata") / "demo"


COMMON = {
    "external_id": ["external_id", "id", "uid", "ref", "reference", "identifier"],
    "name": ["name", "title", r"(group|service|organisation|organization)_name"],
    "description": ["description", "summary", "about", "details"],
    "categories": ["categories", "category"],
    "address": ["address", "venue", "full_address"],
    "postcode": POSTCODE_NAMES,
    "website": ["website", "url", "web", "homepage", "web_address", "hyperlink"],
    "contact_public": ["contact_public", "public_contact", "contact", "email", "phone"],
    "status": ["status"],
}


LOCATED_FIELDS = {
    CommunityGroup: {
        **COMMON,
        "kind": ["kind", "type", "group_type"],
        "meeting_times": ["meeting_times", "meets", "when"],
        "charity_number": ["charity_number", "charity_no", "registered_charity_number"],
        "last_verified": ["last_verified", "verified"],
        "active_from": ["active_from"],
        "active_until": ["active_until"],
        "wards_served": ["wards_served"],
        "location_precision": ["location_precision", "precision", "location_sensitivity"],
        "org_ids": ["org_ids", "org_id", "organisation_identifiers", "organization_identifiers"],
    },
    Service: {
        **COMMON,
        "provider": ["provider", "organisation", "organization", "run_by"],
        "delivery": ["delivery", "delivery_method"],
        "opening_hours": ["opening_hours", "opening_times", "hours"],
        "eligibility": ["eligibility", "who_for"],
    },
    Coordinator: {
        "external_id": COMMON["external_id"],
        "name": COMMON["name"],
        "email": ["email", "e_mail"],
        "phone": ["phone", "telephone", "tel", "mobile"],
        "capacity": ["capacity", "caseload"],
        "employer": ["employer", "organisation", "organization"],
        "postcode": POSTCODE_NAMES,
    },
}


LIST_FIELDS = {"categories", "wards_served"}


DATE_FIELDS = {"last_verified", "active_from", "active_until"}


def read_located(
    path,
    model,
    fields=None,
    crs=None,
    layer=None,
    categories=(),
    vocabulary=None,
    find_postcodes=None,
):
    """Read groups, services or coordinators (`model`) into rows of column values.

    A row is located by its point geometry, else its lon/lat or easting/northing columns
    (in `crs`), else its postcode through `find_postcodes(postcodes) -> {postcode: (lon,
    lat)}`. `vocabulary` maps category slugs and names (lower case) to slugs; `categories`
    are the slugs of rows that name none. `status` is set only when the file has it.
    """
    reading = Reading(str(path))
    frame = read_any(path, layer, reading.notes)
    targets = LOCATED_FIELDS[model]
    columns = choose_columns(frame, {**targets, **LOCATION_FIELDS}, fields, notes=reading.notes)
    require(columns, ["name"], "--field {target}=COLUMN", frame)
    ignored = [str(c) for c in data_columns(frame) if c not in columns.values()]
    if ignored:
        reading.notes.append("ignored columns: " + ", ".join(ignored))
    rows = records(frame)
    postcodes = {}
    if "postcode" in columns and find_postcodes is not None:
        wanted = {Postcode.normalise(text(r[columns["postcode"]])) for r in rows}
        postcodes = find_postcodes(sorted(p for p in wanted if p))
    points = lonlat_points(frame, columns, crs)
    plain = plain_values(frame, model, columns)
    for index, record in enumerate(rows):
        where = where_label(frame, index)
        values = plain[index]
        if values is None:
            values, reason = located_values(record, model, columns, categories, vocabulary)
        else:
            values, reason = finished_values(values, model, categories, vocabulary)
        if not reason:
            reason = locate_record(record, model, columns, crs, postcodes, values, points[index])
        if reason:
            label = text(record[columns["name"]])
            reading.reject(index, where, f"{reason} ({shorten(label)})" if label else reason)
        else:
            reading.accept(index, where, values)
    return reading


def located_values(record, model, columns, categories, vocabulary):
    """Return (column values of a record, None) or (None, why it is rejected)."""
    values = {}
    table = model.__table__
    for target in LOCATED_FIELDS[model]:
        if target not in columns:
            continue
        cell = record[columns[target]]
        if target in LIST_FIELDS:
            values[target] = split_list(cell)
            problem = next(filter(None, map(text_problem, values[target])), None)
            if problem:
                return None, f"{columns[target]} {problem}"
        elif target in DATE_FIELDS:
            values[target], reason = parse_date(cell, columns[target])
            if reason:
                return None, reason
        elif target == "org_ids":
            values[target], reason = parse_org_ids(text(cell) or None)
            if reason:
                return None, f"{columns[target]} {reason}"
        elif target == "capacity":
            values[target], reason = (
                parse_count(cell, columns[target]) if text(cell) else (None, None)
            )
            if reason:
                return None, reason
        else:
            raw = text(cell)
            required = target == "name" and bool(raw)  # invisible only: say so, not "missing"
            values[target], reason = clean_text(raw, longest_of(table, target), required)
            if reason is None and target == "website" and values[target]:
                reason = web_address_problem(values[target])
            if reason:
                return None, f"{columns[target]} {reason}"
    return finished_values(values, model, categories, vocabulary)


def finished_values(values, model, categories, vocabulary):
    """Check and complete the cleaned cells of a record: its status, location precision,
    categories (as slugs) and postcode; return (values, None) or (None, why not)."""
    if not values.get("name"):
        return None, "missing name"
    status = (values.pop("status", None) or "").lower()
    if status:
        if status not in STATUSES:
            return None, f"unknown status {status!r} (one of {', '.join(STATUSES)})"
        values["status"] = status
    precision = (values.pop("location_precision", None) or "").lower()
    if precision:
        if precision not in geo.PRECISIONS:
            return (
                None,
                f"unknown location precision {precision!r} (one of {', '.join(geo.PRECISIONS)})",
            )
        values["location_precision"] = precision
    if model is not Coordinator:
        given = values.get("categories") or []
        if vocabulary is not None:
            unknown = [c for c in given if c.lower() not in vocabulary]
            if unknown:
                return None, "unknown category " + ", ".join(repr(c) for c in unknown)
            given = [vocabulary[c.lower()] for c in given]
        values["categories"] = list(dict.fromkeys(given or categories))
    if values.get("postcode"):
        values["postcode"] = Postcode.normalise(values["postcode"])[:10]
    return values, None


def plain_values(frame, model, columns):
    """Return, for each row of a table of text, the cleaned cells `located_values` would
    give when every one is plain (printable ASCII, short enough, a list of such, an ISO
    date or empty), else None: those rows are left to `located_values`, one by one, for
    its reasons. Read a column at a time, which a million rows need."""
    if is_geo(frame) or "geometry" in frame.columns:
        return [None] * len(frame)
    table = model.__table__
    targets = [t for t in LOCATED_FIELDS[model] if t in columns]
    cleaned = [_plain_column(frame[columns[t]].tolist(), t, longest_of(table, t)) for t in targets]
    return [
        None if _NOT_PLAIN in cells else dict(zip(targets, cells, strict=True))
        for cells in zip(*cleaned, strict=True)
    ]


_NOT_PLAIN = object()  # a cell `located_values` must read itself
_LIST_SEPARATOR = re.compile(r"\s*[;|]\s*")


def _plain_column(cells, target, longest):
    """Return a column's cells cleaned, or _NOT_PLAIN for each that is not plain."""
    if target in LIST_FIELDS:
        clean = _plain_list
    elif target in DATE_FIELDS:
        clean = _plain_date
    elif target in ("org_ids", "capacity"):
        empty = [] if target == "org_ids" else None
        return [empty if type(c) is str and not c.strip() else _NOT_PLAIN for c in cells]
    else:
        website = target == "website"
        return [_plain_text(c, longest, website) for c in cells]
    return [clean(c) if type(c) is str else _NOT_PLAIN for c in cells]


def _plain_text(cell, longest, website):
    if type(cell) is not str:
        return _NOT_PLAIN
    value = cell.strip()
    if not (value.isascii() and value.isprintable()) or (longest and len(value) > longest):
        return _NOT_PLAIN
    if website and value and web_address_problem(value):
        return _NOT_PLAIN
    return value or None


def _plain_list(cell):
    cell = cell.strip()
    if not (cell.isascii() and cell.isprintable()):
        return _NOT_PLAIN
    return [part for part in _LIST_SEPARATOR.split(cell) if part]


def _plain_date(cell):
    cell = cell.strip()
    if not cell:
        return None
    try:
        return datetime.fromisoformat(cell).date() if cell.isascii() else _NOT_PLAIN
    except ValueError:
        return _NOT_PLAIN


@lru_cache
def longest_of(table, column):
    """Return the most characters a text column takes (its length, or LONGEST_TEXT's)."""
    length = getattr(table.c[column].type, "length", None) if column in table.c else None
    return length or LONGEST_TEXT.get(column)


def locate_record(record, model, columns, crs, postcodes, values, point=None):
    """Put a record's point (and a coordinator's patch) into `values`; return why not.

    `point` is the one `lonlat_points` found already in the record's cells, if any.
    """
    point_column = location_column(model)
    geom = record.get("geometry") if point is None else None
    reason = None
    if geom is not None and not geom.is_empty:
        if model is Coordinator and geom.geom_type in ("Polygon", "MultiPolygon"):
            reason = geo.vertex_problem(geom)
            if reason:
                return reason
            values["patch"] = geo.repair(geom)[0]
        else:
            point, reason = geo.point_of(geom)
            reason = reason or geo.lonlat_problem(point.x, point.y)
    if point is None and not reason:
        point, reason = locate_cells(record, columns, crs)
    if point is None and not reason and values.get("postcode"):
        lonlat = postcodes.get(values["postcode"])
        if lonlat is None:
            reason = f"unknown postcode {values['postcode']!r}"
        else:
            point = Point(*lonlat)
    if model is Coordinator:
        values.pop("postcode", None)  # used to find the base; coordinators keep none
    if reason:
        return reason
    if point is None and model is not Coordinator:
        return "no location: no point geometry, lon/lat, easting/northing or postcode"
    values[point_column] = point
    return None


# --- the demo borough ----------------------------------------------------------------


# Stored as the demo wards' boundary source note: every download, page and PDF of them says
# so, and none claims ONS or OS copyright for fictional boundaries.
DEMO_ATTRIBUTION = (
    "Eastmere is a fictional borough drawn for the Community Mapper demo: its boundaries, "
    "postcodes, groups and people are invented (no ONS or OS data)."
)


def read_demo(folder=DEMO_FOLDER):
    """Read the demo borough: wards (with their source note), groups, services, coordinators
    and postcodes."""
    folder = Path(folder)
    readings = {
        "wards": read_wards(folder / "wards.geojson"),
        "groups": read_located(folder / "groups.csv", CommunityGroup),
        "services": read_located(folder / "services.csv", Service),
        "coordinators": read_located(folder / "coordinators.geojson", Coordinator),
        "postcodes": read_postcodes(folder / "postcodes.csv"),
    }
    for reading in readings.values():
        if reading.rejected:
            raise Invalid(f"{reading.source}: {reading.rejections()[0]}")
    data = {name: reading.values() for name, reading in readings.items()}
    data["wards"] = as_frame(data["wards"])
    data["wards"]["attribution"] = DEMO_ATTRIBUTION
    return data


def as_frame(rows):
    """Return rows with a lon/lat "geometry" as a GeoDataFrame."""
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=geo.WGS84)
