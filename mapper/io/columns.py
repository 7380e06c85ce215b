"""Choosing a file's columns by their names or values, and parsing its cells."""

import math
import re
from datetime import datetime

import numpy as np
import shapely
from shapely.geometry import Point

from mapper import geo
from mapper.errors import Invalid
from mapper.io.reading import is_geo
from mapper.store.models import (
    Postcode,
)

GSS_CODE = re.compile(r"[A-Z]\d{8}")


WARD_PREFIXES = ("E05", "W05", "S13", "N08")


LA_PREFIXES = ("E06", "E07", "E08", "E09", "W06", "S12", "N09")


LSOA_PREFIXES = ("E01", "W01")


POSTCODE = re.compile(r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}")


NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


# --- choosing columns ----------------------------------------------------------------


POSTCODE_NAMES = ["postcode", "pcds", "post_code", "postal_code", "pcd", "pcd7", "pcd8"]
LOCATION_FIELDS = {
    "lon": ["lon", "lng", "long", "longitude", "base_lon", "x"],
    "lat": ["lat", "latitude", "base_lat", "y"],
    "easting": ["easting", "eastings", "oseast1m", "east"],
    "northing": ["northing", "northings", "osnrth1m", "north"],
    "postcode": POSTCODE_NAMES,
}


def normalise_name(column):
    """Return a column name as the patterns match it: lower case, runs of others as '_'."""
    return re.sub(r"[^a-z0-9]+", "_", str(column).lower()).strip("_")


def text(value):
    """Return a cell as stripped text: '' for empty, NaN or None; 12.0 -> '12'."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    return str(value).strip()


def data_columns(frame):
    """Return a frame's columns, without its geometry column."""
    return [c for c in frame.columns if not (is_geo(frame) and c == frame.geometry.name)]


def column_of_codes(frame, prefixes, exclude=()):
    """Return the first column whose values all look like GSS codes with these prefixes."""
    for column in data_columns(frame):
        if column in exclude:
            continue
        values = [text(v) for v in frame[column]]
        values = [v for v in values if v]
        if values and all(GSS_CODE.fullmatch(v) and v.startswith(prefixes) for v in values):
            return column
    return None


def column_of_names(frame, exclude=()):
    """Return the first column of distinct text that is not numbers or codes."""
    for column in data_columns(frame):
        if column in exclude:
            continue
        values = [text(v) for v in frame[column]]
        values = [v for v in values if v]
        if (
            values
            and not any(NUMBER.fullmatch(v) or GSS_CODE.fullmatch(v) for v in values)
            and len(set(values)) >= 0.9 * len(values)
        ):
            return column
    return None


def choose_columns(frame, patterns, given=None, codes=None, names=(), notes=None):
    """Return {target: column}: as given, else by a common name, else by the values.

    A target given as None is left without a column.
    `codes` maps targets to GSS prefixes recognised by value (a column whose values all look
    like such codes); `names` lists targets that may be any column of distinct text.
    """
    columns = data_columns(frame)
    chosen, how = {}, {}
    for target, column in (given or {}).items():
        if column is None:  # the person said the file has no such column
            chosen[target] = how[target] = None
            continue
        if column not in columns:
            raise Invalid(f"there is no column {column!r} (it has {', '.join(map(str, columns))})")
        chosen[target], how[target] = column, "as given"
    for target, candidates in patterns.items():
        for pattern in candidates if target not in chosen else ():
            hits = [
                c
                for c in columns
                if c not in chosen.values() and re.fullmatch(pattern, normalise_name(c))
            ]
            if hits:
                chosen[target] = sorted(hits, key=normalise_name, reverse=True)[0]
                how[target] = "by name"
                break
    for target, prefixes in (codes or {}).items():
        if target not in chosen:
            column = column_of_codes(frame, prefixes, exclude=chosen.values())
            if column is not None:
                chosen[target], how[target] = column, "by its values"
    for target in names:
        if target not in chosen:
            column = column_of_names(frame, exclude=chosen.values())
            if column is not None:
                chosen[target], how[target] = column, "by its values"
    chosen = {target: column for target, column in chosen.items() if column is not None}
    if notes is not None and chosen:
        described = (f"{target}={chosen[target]} ({how[target]})" for target in chosen)
        notes.append("columns: " + ", ".join(described))
    return chosen


def require(chosen, targets, option, frame):
    """Raise Invalid unless every target found a column, naming the option to set it."""
    for target in targets:
        if target not in chosen:
            names = ", ".join(map(str, data_columns(frame)))
            raise Invalid(
                f"cannot tell which column holds the {target.replace('_', ' ')}; "
                f"name it with {option.format(target=target)} (columns: {names})"
            )


def parse_fields(pairs, targets):
    """Parse repeated TARGET=COLUMN options into a dict, refusing unknown targets."""
    fields = {}
    for pair in pairs or ():
        target, sep, column = pair.partition("=")
        target = target.strip()
        if not sep or not column or target not in targets:
            raise Invalid(
                f"--field {pair!r} should be TARGET=COLUMN with TARGET one of "
                + ", ".join(sorted(targets))
            )
        fields[target] = column
    return fields


# --- parsing cells -------------------------------------------------------------------


def shorten(value, width=40):
    """Return text cut to `width` characters, with an ellipsis when cut."""
    return value if len(value) <= width else value[: width - 1] + "…"


def parse_number(value, label):
    """Return (float, None) or (None, why the cell is not one number)."""
    cell = text(value)
    if not cell:
        return None, f"missing {label}"
    if NUMBER.fullmatch(cell):
        return float(cell), None
    parts = [p for p in re.split(r"[,;|/\s]+", cell) if p]
    if len(parts) > 1 and all(NUMBER.fullmatch(p) for p in parts):
        return None, f"multi-valued {label} {shorten(cell)!r}"
    return None, f"unparseable {label} {shorten(cell)!r}"


def parse_count(value, label):
    """Return (int >= 0, None) or (None, why not); '12,345' is read as 12345."""
    cell = text(value)
    if re.fullmatch(r"\d{1,3}(,\d{3})+", cell):
        cell = cell.replace(",", "")
    number, reason = parse_number(cell, label)
    if reason:
        return None, reason
    if number < 0 or not number.is_integer():
        return None, f"{label} {cell!r} is not a whole number of at least 0"
    return int(number), None


def parse_date(value, label):
    """Return (date or None, reason) from a YYYY-MM-DD cell."""
    cell = text(value)
    try:
        return (datetime.fromisoformat(cell).date() if cell else None), None
    except ValueError:
        return None, f"{label} {shorten(cell)!r} is not a date (YYYY-MM-DD)"


def split_list(cell):
    """Return the parts of a cell separated by ';' or '|'."""
    return [part.strip() for part in re.split(r"[;|]", text(cell)) if part.strip()]


def code_problem(code, label="code"):
    """Return why a cell is not an ONS GSS code, or None."""
    if not code:
        return f"missing {label}"
    if not GSS_CODE.fullmatch(code):
        return f"{label} {shorten(code)!r} is not an ONS GSS code (such as E05001234)"
    return None


def postcode_problem(postcode):
    """Return why a cell is not a UK postcode, or None."""
    if not postcode:
        return "missing postcode"
    if not POSTCODE.fullmatch(Postcode.normalise(postcode)):
        return f"{shorten(postcode)!r} is not a UK postcode"
    return None


def locate_cells(row, columns, crs=None):
    """Return (lon/lat Point, None) from a row's coordinate columns, (None, None) when the
    row has no coordinates, or (None, why they are wrong)."""
    for x_name, y_name, default in (("lon", "lat", geo.SRID), ("easting", "northing", geo.BNG)):
        if x_name not in columns or y_name not in columns:
            continue
        x_cell, y_cell = row[columns[x_name]], row[columns[y_name]]
        if not text(x_cell) and not text(y_cell):
            continue
        x, reason = parse_number(x_cell, columns[x_name])
        y, other = parse_number(y_cell, columns[y_name])
        if reason or other:
            return None, reason or other
        code = geo.epsg_of(crs) if crs else default
        if code == geo.SRID:
            problem = geo.lonlat_problem(x, y)
        elif code == geo.BNG:
            problem = geo.easting_northing_problem(x, y)
        else:
            problem = None
        if problem:
            return None, problem
        lon, lat = geo.to_lonlat(x, y, crs or default)
        problem = geo.lonlat_problem(float(lon), float(lat))
        return (None, problem) if problem else (Point(float(lon), float(lat)), None)
    return None, None


def lonlat_points(frame, columns, crs=None):
    """Return, for each row of a table, the Point `locate_cells` gives when its lon/lat cells
    are plain numbers of a sound lon/lat pair, else None (such rows are left to
    `locate_cells`, one by one, for its reasons). The points are made in one pass."""
    found = np.full(len(frame), None, dtype=object)
    if (
        is_geo(frame)
        or "geometry" in frame.columns
        or not {"lon", "lat"} <= columns.keys()
        or (crs and geo.epsg_of(crs) != geo.SRID)
    ):
        return found
    x, y = (plain_numbers(frame[columns[name]].map(text).tolist()) for name in ("lon", "lat"))
    sound = ~np.isnan(x) & ~np.isnan(y) & geo.lonlat_fine(x, y)
    found[sound] = shapely.points(x[sound], y[sound])
    return found


def plain_numbers(cells):
    """Return float(cell) for the stripped text cells that are one number (as `parse_number`
    reads it), NaN for the others (no such number is NaN)."""
    nan = float("nan")
    return np.fromiter(
        (float(c) if NUMBER.fullmatch(c) else nan for c in cells), dtype=float, count=len(cells)
    )
