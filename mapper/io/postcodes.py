"""Reading a postcode directory (the ONS Postcode Directory, 1.7 M rows for Great Britain).

The cells are checked a column at a time; only the rows that are not plainly right go
through the per-row checks, which say why a row is rejected in the same words as the other
readers.
"""

import math
import re

import numpy as np

from mapper import geo
from mapper.io.columns import (
    LOCATION_FIELDS,
    choose_columns,
    locate_cells,
    parse_number,
    plain_numbers,
    postcode_problem,
    require,
    text,
)
from mapper.io.reading import Reading, Row, read_table, records
from mapper.store.models import Postcode

# A postcode directory's columns: its location, and optionally its residents.
POSTCODE_FIELDS = {**LOCATION_FIELDS, "residents": ["population", "residents", "people"]}


# A postcode cell the per-row path takes as it is, once stripped: ASCII letters and digits
# in the shape of a UK postcode, any spaces before the inward code (upper-cased, "M1 1AA").
PLAIN_POSTCODE = re.compile(r"[A-Za-z]{1,2}[0-9][A-Za-z0-9]? *[0-9][A-Za-z]{2}")


def read_postcodes(path):
    """Read postcode centroids (an ONS Postcode Directory extract) into postcode, lon, lat
    and residents: a population / residents / people column's figure, None without one.

    Only the columns it needs are read. The rows are checked a column at a time; a row that
    is not plainly right (see `plain_postcodes`) goes through `postcode_row`, which says why.
    """
    reading = Reading(str(path))
    header = read_table(path, rows=0)
    columns = choose_columns(header, POSTCODE_FIELDS, notes=reading.notes)
    require(columns, ["postcode"], "a column named postcode or pcds", header)
    table = read_table(path, columns=set(columns.values()))
    plain, values = plain_postcodes(table, columns)
    others = np.flatnonzero(~plain)
    slow = records(table.iloc[others])
    del table  # the rows take its place in memory
    rows = [
        Row(index, f"row {index + 2}", {"postcode": p, "lon": x, "lat": y, "residents": r})
        for index, p, x, y, r in zip(np.flatnonzero(plain).tolist(), *values, strict=True)
    ]
    later = []
    for index, record in zip(others.tolist(), slow, strict=True):
        where = f"row {index + 2}"
        row, reason = postcode_row(record, columns)
        if reason:
            reading.reject(index, where, reason)
        else:
            later.append(Row(index, where, row))
    reading.rows = sorted(rows + later) if later else rows
    return reading


def plain_postcodes(table, columns):
    """Return (mask, [postcodes, lons, lats, residents]) of the rows of `table` whose cells
    are plainly right: the values are those `postcode_row` gives for the rows in the mask.

    A plain row has a PLAIN_POSTCODE and numbers (as `NUMBER`) that `geo.lonlat_fine` (or,
    without lon/lat, `geo.easting_northing_fine`) and a residents figure of at least 0 pass.
    The cells are checked as plain Python strings: pandas' string methods are slower.
    """
    count = len(table)
    cells = {
        target: [c.strip() if type(c) is str else text(c) for c in table[column].to_numpy(object)]
        for target, column in columns.items()
    }
    plain = np.fromiter(
        (PLAIN_POSTCODE.fullmatch(c) is not None for c in cells["postcode"]), bool, count
    )
    lon, lat = np.full(count, np.nan), np.full(count, np.nan)
    pending = np.ones(count, dtype=bool)  # rows whose coordinates are still to be found
    for x_name, y_name in (("lon", "lat"), ("easting", "northing")):
        if x_name not in columns or y_name not in columns:
            continue
        x, y = plain_numbers(cells[x_name]), plain_numbers(cells[y_name])
        given = pending & np.fromiter(
            (a != "" or b != "" for a, b in zip(cells[x_name], cells[y_name], strict=True)),
            bool,
            count,
        )
        fine = given & ~np.isnan(x) & ~np.isnan(y)
        if x_name == "easting":
            fine &= geo.easting_northing_fine(x, y)
            x[fine], y[fine] = geo.to_lonlat(x[fine], y[fine], geo.BNG)
        fine &= geo.lonlat_fine(x, y)
        lon[fine], lat[fine] = x[fine], y[fine]
        plain &= ~given | fine
        pending &= ~given
    plain &= ~pending  # no coordinates at all
    residents = np.full(count, np.nan)
    if "residents" in columns:
        figure = plain_numbers(cells["residents"])
        with np.errstate(invalid="ignore"):
            fine = np.isfinite(figure) & (figure >= 0)
        empty = np.fromiter((c == "" for c in cells["residents"]), bool, count)
        plain &= fine | empty
        residents[fine] = figure[fine]
    compact = (
        c.replace(" ", "").upper() for c, p in zip(cells["postcode"], plain, strict=True) if p
    )
    postcodes = [f"{c[:-3]} {c[-3:]}" for c in compact]
    people = [None if r != r else r for r in residents[plain].tolist()]  # NaN: no figure
    return plain, [postcodes, lon[plain].tolist(), lat[plain].tolist(), people]


def postcode_row(record, columns):
    """Return (postcode, lon, lat and residents, None) of a postcode row, or (None, why not)."""
    postcode = text(record[columns["postcode"]])
    point, reason = locate_cells(record, columns)
    residents, bad_residents = postcode_residents(record, columns)
    reason = postcode_problem(postcode) or reason or bad_residents
    if not reason and point is None:
        reason = "no coordinates"
    if reason:
        return None, reason
    values = {
        "postcode": Postcode.normalise(postcode),
        "lon": point.x,
        "lat": point.y,
        "residents": residents,
    }
    return values, None


def postcode_residents(record, columns):
    """Return (residents, None) or (None, why not) of a postcode row: None when the file
    has no residents column or the cell is empty, else a finite number of at least 0."""
    column = columns.get("residents")
    if column is None or not text(record[column]):
        return None, None
    number, reason = parse_number(record[column], column)
    if reason:
        return None, reason
    if not math.isfinite(number) or number < 0:
        return None, f"{column} {text(record[column])!r} is not a number of at least 0"
    return number, None
