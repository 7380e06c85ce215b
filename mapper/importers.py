"""Reading files (GeoJSON, GeoPackage, zipped Shapefile, CSV) into validated rows.

Every reader returns a `Reading`: the rows to import (geometry in lon/lat), each rejected row
with where it is in the file and why, and notes saying which columns and CRS were chosen.
Nothing here writes to the database: look-ups that need it (postcodes, categories) are passed
in by the caller, and the registry checks what only the database knows (wards).

Row numbers count the header as row 1, as a spreadsheet shows them; features count from 1.
"""

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import Point

from mapper import geo
from mapper.errors import Invalid
from mapper.models import (
    STATUSES,
    CommunityGroup,
    Coordinator,
    Postcode,
    Service,
    Ward,
    location_column,
)

DEMO_FOLDER = Path(__file__).resolve().parent.parent / "geodata" / "demo"
TABLE_SUFFIXES = (".csv", ".tsv", ".txt")

GSS_CODE = re.compile(r"[A-Z]\d{8}")
WARD_PREFIXES = ("E05", "W05", "S13", "N08")
LA_PREFIXES = ("E06", "E07", "E08", "E09", "W06", "S12", "N09")
LSOA_PREFIXES = ("E01", "W01")
POSTCODE = re.compile(r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}")
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
# England has 32,844 LSOAs (2011), the units ranked by IMD 2015 and 2019.
ENGLAND_LSOAS_2011 = 32_844

# Common column names, as regular expressions matched against the whole name in lower case
# with runs of other characters turned into "_" ("LSOA code (2011)" -> "lsoa_code_2011").
# Earlier patterns win; among columns matching one pattern, the latest year (WD23CD > WD22CD).
WARD_CODE_NAMES = [r"wd\d\dcd", "gss_code", "area_code", "ward_code", "wardcode", "wd_code", "code"]
WARD_NAME_NAMES = [r"wd\d\dnm", "area_name", "ward_name", "wardname", "ward", "name"]
LA_CODE_NAMES = [
    r"lad\d\dcd",
    "lb_gss_cd",
    "local_authority_area_code",
    "local_authority_code",
    "la_code",
    "lad_code",
]
LA_NAME_NAMES = [
    r"lad\d\dnm",
    "local_authority_area_name",
    "local_authority_name",
    "la_name",
    "lad_name",
    "borough",
    "district",
]
POSTCODE_NAMES = ["postcode", "pcds", "post_code", "postal_code", "pcd", "pcd7", "pcd8"]
WARD_FIELDS = {
    "code": WARD_CODE_NAMES,
    "name": WARD_NAME_NAMES,
    "la_code": LA_CODE_NAMES,
    "la_name": LA_NAME_NAMES,
    "vintage": ["vintage"],
}
LA_FIELDS = {"code": [*LA_CODE_NAMES, "area_code", "code"], "name": [*LA_NAME_NAMES, "name"]}
LSOA_FIELDS = {"code": [r"lsoa\d\dcd", r"lsoa_?code\w*", "area_code", "code"]}
POPULATION_FIELDS = {
    "code": WARD_CODE_NAMES,
    "population": ["all_ages", "population", "all_persons", "persons", "total", "obs_value"],
    "sex": ["sex", "gender", r"c_sex\w*"],
}
PERSONS = {"persons", "all persons", "people", "all", "total"}
IMD = r"(imd|index_of_multiple_deprivation)\w*"
IMD_FIELDS = {
    "lsoa_code": [r"lsoa\d\dcd", r"lsoa_?code\w*"],
    "code": [r"wd\d\dcd", "ward_code", "gss_code", "wardcode"],
    "rank": [IMD + "rank\\w*", "rank"],
    "decile": [IMD + "decile\\w*", "decile"],
    "score": [IMD + "score\\w*", "score"],
}
LOCATION_FIELDS = {
    "lon": ["lon", "lng", "long", "longitude", "base_lon", "x"],
    "lat": ["lat", "latitude", "base_lat", "y"],
    "easting": ["easting", "eastings", "oseast1m", "east"],
    "northing": ["northing", "northings", "osnrth1m", "north"],
    "postcode": POSTCODE_NAMES,
}
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


class Row(NamedTuple):
    index: int
    where: str  # "row 12" or "feature 3"
    values: dict


class Rejection(NamedTuple):
    index: int
    where: str
    reason: str


@dataclass
class Reading:
    """What a file gave: rows to import, rows rejected and why, notes for the user."""

    source: str
    rows: list = field(default_factory=list)
    rejected: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def accept(self, index, where, values):
        self.rows.append(Row(index, where, values))

    def reject(self, index, where, reason):
        self.rejected.append(Rejection(index, where, reason))

    def reject_rows(self, reasons):
        """Move each row whose reason (in row order) is not None to the rejected list."""
        kept = []
        for row, reason in zip(self.rows, reasons, strict=True):
            if reason:
                self.reject(row.index, row.where, reason)
            else:
                kept.append(row)
        self.rows = kept

    def values(self):
        return [row.values for row in self.rows]

    def rejections(self):
        return sorted(self.rejected)


def where_label(frame, index):
    """Name a row as a person finds it: a spreadsheet row (header = 1) or a feature."""
    return f"feature {index + 1}" if _is_geo(frame) else f"row {index + 2}"


def _is_geo(frame):
    return isinstance(frame, gpd.GeoDataFrame)


# --- reading files -------------------------------------------------------------------


def read_table(path):
    """Read a CSV as text cells, with empty cells as empty strings."""
    sep = "\t" if str(path).lower().endswith(".tsv") else ","
    for encoding in ("utf-8-sig", "cp1252"):  # spreadsheets still save Windows-1252
        try:
            return pd.read_csv(
                path, dtype=str, keep_default_na=False, encoding=encoding, sep=sep
            ).rename(columns=str.strip)
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise Invalid(f"cannot read it as CSV: {error}") from None
    raise Invalid("cannot read it as CSV: it is neither UTF-8 nor Windows-1252 text")


def read_frame(path, layer=None, notes=None, reproject=True):
    """Read a vector file into a lon/lat GeoDataFrame, saying in `notes` which CRS it had.

    With `reproject` false, the frame keeps the file's CRS (recognised, or guessed when the
    file states none).
    """
    notes = [] if notes is None else notes
    try:
        layers = pyogrio.list_layers(path)
        if layer is None and len(layers) > 1:
            names = ", ".join(str(name) for name in layers[:, 0])
            raise Invalid(f"it holds several layers ({names}): choose one with --layer")
        frame = gpd.read_file(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as error:
        raise Invalid(
            f"cannot read it as a GeoJSON, GeoPackage, Shapefile or other file GDAL knows: {error}"
        ) from None
    if frame.crs is None:
        valid = frame.geometry[~frame.geometry.is_empty & frame.geometry.notna()]
        code = geo.guess_crs(valid.total_bounds) if len(valid) else geo.SRID
        if code is None:
            raise Invalid("it states no CRS and its coordinates are neither lon/lat nor BNG")
        notes.append(f"CRS: none stated; the coordinates look like EPSG:{code}")
        frame = frame.set_crs(code)
    else:
        code = geo.epsg_of(frame.crs)
        if code is None:
            notes.append(f"CRS: {frame.crs.name} (no EPSG code), reprojected to EPSG:4326")
        elif frame.crs.to_epsg() is None:
            notes.append(f"CRS: EPSG:{code}, recognised from a definition with no EPSG code")
            frame = frame.set_crs(code, allow_override=True)
        else:
            notes.append(f"CRS: EPSG:{code}")
    return frame.to_crs(geo.WGS84) if reproject else frame


def read_any(path, layer=None, notes=None):
    """Read a CSV as text, or anything else as a lon/lat GeoDataFrame."""
    if str(path).lower().endswith(TABLE_SUFFIXES):
        return read_table(path)
    return read_frame(path, layer, notes)


def records(frame):
    """Return the rows of a frame as dicts (the geometry under "geometry" if any)."""
    return frame.to_dict("records")


# --- choosing columns ----------------------------------------------------------------


def normalise_name(column):
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
    return [c for c in frame.columns if not (_is_geo(frame) and c == frame.geometry.name)]


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

    `codes` maps targets to GSS prefixes recognised by value (a column whose values all look
    like such codes); `names` lists targets that may be any column of distinct text.
    """
    columns = data_columns(frame)
    chosen, how = {}, {}
    for target, column in (given or {}).items():
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
    if notes is not None and chosen:
        described = (f"{target}={chosen[target]} ({how[target]})" for target in chosen)
        notes.append("columns: " + ", ".join(described))
    return chosen


def require(chosen, targets, option, frame):
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
    cell = text(value)
    try:
        return (datetime.fromisoformat(cell).date() if cell else None), None
    except ValueError:
        return None, f"{label} {shorten(cell)!r} is not a date (YYYY-MM-DD)"


def split_list(cell):
    return [part.strip() for part in re.split(r"[;|]", text(cell)) if part.strip()]


def code_problem(code, label="code"):
    if not code:
        return f"missing {label}"
    if not GSS_CODE.fullmatch(code):
        return f"{label} {shorten(code)!r} is not an ONS GSS code (such as E05001234)"
    return None


def postcode_problem(postcode):
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


# --- wards and other areas -----------------------------------------------------------


def polygon_rows(frame, reading, keep, label):
    """Return [(index, where, record, lon/lat polygon)] for the usable features of `frame`.

    `frame` is in the file's CRS. `keep(where, record)` returns a reason to reject a record
    before its geometry is looked at, or None. Invalid polygons are repaired where the file
    drew them, before reprojection, and each repair is noted with `label(record)`.
    """
    usable = []
    for index, record in enumerate(records(frame)):
        where = f"feature {index + 1}"
        reason = keep(where, record)
        geom = record.get("geometry")
        if reason is None:
            if geom is None or geom.is_empty:
                reason = "no geometry"
            elif geom.geom_type not in ("Polygon", "MultiPolygon"):
                reason = f"geometry is a {geom.geom_type}, not a polygon"
        if reason is None:
            geom, why = geo.repair(geom)
            if why:
                reading.notes.append(f"{where} ({label(record)}): repaired ({why})")
            usable.append((index, where, record, geom))
        else:
            reading.reject(index, where, reason)
    lonlat = gpd.GeoSeries([u[3] for u in usable], crs=frame.crs).to_crs(geo.WGS84)
    rows = []
    for (index, where, record, _), geom in zip(usable, lonlat, strict=True):
        min_x, min_y, max_x, max_y = geom.bounds
        reason = geo.lonlat_problem(min_x, min_y) or geo.lonlat_problem(max_x, max_y)
        geom = geo.repair(geom)[0]  # reprojection seldom breaks a polygon, but it can
        if reason or geom.is_empty:
            reading.reject(index, where, reason or "the polygon is empty once repaired")
        else:
            rows.append((index, where, record, geom))
    return rows


def read_areas(path, fields, prefixes, layer=None, source=None):
    """Read polygons with a code and maybe a name (local authorities, LSOAs).

    Returns a Reading whose rows hold code, name and geometry.
    """
    reading = Reading(source or str(path))
    frame = read_frame(path, layer, reading.notes, reproject=False)
    columns = choose_columns(frame, fields, codes={"code": prefixes}, notes=reading.notes)
    require(columns, ["code"], "a file with a code column", frame)
    seen = {}

    def keep(where, record):
        code = text(record[columns["code"]])
        reason = code_problem(code) or (
            f"code {code} appears again (first at {seen[code]})" if code in seen else None
        )
        seen.setdefault(code, where)
        return reason

    def label(record):
        return text(record[columns["code"]])

    for index, where, record, geom in polygon_rows(frame, reading, keep, label):
        name = text(record[columns["name"]]) if "name" in columns else ""
        reading.accept(
            index, where, {"code": text(record[columns["code"]]), "name": name, "geometry": geom}
        )
    return reading


def read_wards(
    path,
    layer=None,
    fields=None,
    la_code=None,
    la_name=None,
    la_boundaries=None,
    vintage=None,
):
    """Read ward boundaries into rows of code, name, la_code, la_name, vintage, geometry.

    `fields` names columns for code, name, la_code and la_name. With `la_boundaries`, each
    ward gets the local authority whose polygon holds its point-on-surface. `la_code` sets
    the authority when the file has none, and keeps only that authority's wards when it has.
    """
    reading = Reading(str(path))
    frame = read_frame(path, layer, reading.notes, reproject=False)
    columns = choose_columns(
        frame,
        WARD_FIELDS,
        fields,
        codes={"code": WARD_PREFIXES, "la_code": LA_PREFIXES},
        names=["name"],
        notes=reading.notes,
    )
    require(columns, ["code", "name"], "--{target}-field", frame)
    if vintage is None and "vintage" not in columns:
        year = re.fullmatch(r"wd(\d\d)cd", normalise_name(columns["code"]))
        if year is None:
            raise Invalid("say which boundary vintage these wards are with --vintage (e.g. 2023)")
        vintage = f"20{year.group(1)}"
        reading.notes.append(f"vintage: {vintage} (from the column {columns['code']})")
    extras = [c for c in data_columns(frame) if c in Ward.__table__.columns and c not in columns]
    seen = {}

    def keep(where, record):
        code, name = text(record[columns["code"]]), text(record[columns["name"]])
        reason = code_problem(code) or ("missing name" if not name else None)
        if not reason and code in seen:
            reason = f"code {code} appears again (first at {seen[code]})"
        seen.setdefault(code, where)
        return reason

    def label(record):
        return f"{text(record[columns['code']])} {text(record[columns['name']])}"

    for index, where, record, geom in polygon_rows(frame, reading, keep, label):
        values = {
            "code": text(record[columns["code"]]),
            "name": text(record[columns["name"]]),
            "la_code": text(record[columns["la_code"]]) if "la_code" in columns else None,
            "la_name": text(record[columns["la_name"]]) if "la_name" in columns else None,
            "vintage": vintage or text(record[columns["vintage"]]),
            **{c: record[c] for c in extras},
            "geometry": geom,
        }
        if not values["vintage"]:
            reading.reject(index, where, "missing vintage")
            continue
        reading.accept(index, where, values)

    if la_boundaries is not None:
        assign_local_authorities(reading, la_boundaries)
    if la_code is not None:
        known = [row for row in reading.rows if row.values["la_code"]]
        if known:
            reading.rows = [row for row in reading.rows if row.values["la_code"] == la_code]
            reading.notes.append(
                f"kept the {len(reading.rows)} wards of {la_code}; skipped "
                f"{len(known) - len(reading.rows)} of other local authorities"
            )
    for row in reading.rows:
        row.values["la_code"] = row.values["la_code"] or la_code
        row.values["la_name"] = la_name or row.values["la_name"]
    return reading


def assign_local_authorities(reading, path):
    """Give each ward the local authority whose polygon in `path` holds its point-on-surface."""
    areas = read_areas(path, LA_FIELDS, LA_PREFIXES, source=str(path))
    reading.notes.extend(f"--la-boundaries: {note}" for note in areas.notes)
    if areas.rejected:
        bad = ", ".join(f"{r.where}: {r.reason}" for r in areas.rejections())
        raise Invalid(f"the local authority boundaries {path} have bad features ({bad})")
    authorities = areas.values()
    points = [shapely.point_on_surface(row.values["geometry"]) for row in reading.rows]
    found = geo.locate(
        points, [a["geometry"] for a in authorities], [a["code"] for a in authorities]
    )
    reasons = []
    for row, i in zip(reading.rows, found, strict=True):
        if i < 0:
            reasons.append(f"outside every local authority in {path}")
            continue
        row.values["la_code"], row.values["la_name"] = (
            authorities[i]["code"],
            authorities[i]["name"],
        )
        reasons.append(None)
    reading.reject_rows(reasons)


# --- ward figures: population and deprivation ----------------------------------------


def read_population(path, fields=None):
    """Read ward populations (code, population), taking the `Persons` rows of a table with
    one row per sex (the ONS/Nomis layout)."""
    reading = Reading(str(path))
    table = read_table(path)
    columns = choose_columns(
        table, POPULATION_FIELDS, fields, codes={"code": WARD_PREFIXES}, notes=reading.notes
    )
    require(columns, ["code", "population"], "--field {target}=COLUMN", table)
    rows = list(enumerate(records(table)))
    if "sex" in columns:
        rows = [(i, r) for i, r in rows if text(r[columns["sex"]]).lower() in PERSONS]
        reading.notes.append(
            f"took the {len(rows)} rows for all persons of {len(table)} "
            f"(one row per {columns['sex']}); the others were skipped"
        )
    seen = {}
    for index, record in rows:
        where = f"row {index + 2}"
        code = text(record[columns["code"]])
        population, reason = parse_count(record[columns["population"]], columns["population"])
        reason = code_problem(code) or reason
        if not reason and code in seen:
            reason = f"code {code} appears again (first at {seen[code]})"
        seen.setdefault(code, where)
        if reason:
            reading.reject(index, where, reason)
        else:
            reading.accept(index, where, {"code": code, "population": population})
    return reading


def read_imd(path, lsoa_boundaries=None, fields=None, layer=None):
    """Read Index of Multiple Deprivation figures, by LSOA or by ward.

    By LSOA (with `lsoa_boundaries`), rows hold lsoa_code, rank, decile, score and `point`,
    the LSOA's point-on-surface; the registry turns them into ward figures. By ward, rows
    hold code and imd_decile, imd_rank, imd_score.
    """
    reading = Reading(str(path))
    table = read_table(path)
    columns = choose_columns(
        table,
        IMD_FIELDS,
        fields,
        codes={"lsoa_code": LSOA_PREFIXES, "code": WARD_PREFIXES},
        notes=reading.notes,
    )
    by_lsoa = "lsoa_code" in columns
    key = "lsoa_code" if by_lsoa else "code"
    require(columns, [key], "--field {target}=COLUMN", table)
    if not {"rank", "decile", "score"} & columns.keys():
        raise Invalid(
            "cannot tell which column holds the IMD rank, decile or score; "
            "name it with --field rank=COLUMN (or decile=, score=)"
        )
    if by_lsoa and lsoa_boundaries is None:
        raise Invalid("the figures are by LSOA: give the LSOA polygons with --lsoa-boundaries")
    points = {}
    if by_lsoa:
        areas = read_areas(lsoa_boundaries, LSOA_FIELDS, LSOA_PREFIXES, layer=layer)
        reading.notes.extend(f"--lsoa-boundaries: {note}" for note in areas.notes)
        points = {a["code"]: shapely.point_on_surface(a["geometry"]) for a in areas.values()}
    seen = {}
    for index, record in enumerate(records(table)):
        where = f"row {index + 2}"
        code = text(record[columns[key]])
        reason = code_problem(code, "LSOA code" if by_lsoa else "code")
        values = {}
        for target in ("rank", "decile", "score"):
            if target in columns and not reason:
                values[target], reason = parse_number(record[columns[target]], columns[target])
        if not reason and "decile" in values and values["decile"] not in range(1, 11):
            reason = f"decile {text(record[columns['decile']])!r} is not between 1 and 10"
        if not reason and code in seen:
            reason = f"code {code} appears again (first at {seen[code]})"
        if not reason and by_lsoa and code not in points:
            reason = f"LSOA {code} has no polygon in {lsoa_boundaries}"
        seen.setdefault(code, where)
        if reason:
            reading.reject(index, where, reason)
        elif by_lsoa:
            reading.accept(index, where, {"lsoa_code": code, "point": points[code], **values})
        else:
            figures = {f"imd_{target}": value for target, value in values.items()}
            if "imd_decile" in figures:
                figures["imd_decile"] = int(figures["imd_decile"])
            reading.accept(index, where, {"code": code, **figures})
    return reading


# --- postcodes and located records ---------------------------------------------------


def read_postcodes(path):
    """Read postcode centroids (an ONS Postcode Directory extract) into postcode, lon, lat."""
    reading = Reading(str(path))
    table = read_table(path)
    columns = choose_columns(table, LOCATION_FIELDS, notes=reading.notes)
    require(columns, ["postcode"], "a column named postcode or pcds", table)
    for index, record in enumerate(records(table)):
        where = f"row {index + 2}"
        postcode = text(record[columns["postcode"]])
        point, reason = locate_cells(record, columns)
        reason = postcode_problem(postcode) or reason
        if not reason and point is None:
            reason = "no coordinates"
        if reason:
            reading.reject(index, where, reason)
        else:
            values = {"postcode": Postcode.normalise(postcode), "lon": point.x, "lat": point.y}
            reading.accept(index, where, values)
    return reading


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
    for index, record in enumerate(rows):
        where = where_label(frame, index)
        values, reason = located_values(record, model, columns, categories, vocabulary)
        if not reason:
            reason = locate_record(record, model, columns, crs, postcodes, values)
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
        elif target in DATE_FIELDS:
            values[target], reason = parse_date(cell, columns[target])
            if reason:
                return None, reason
        elif target == "capacity":
            values[target], reason = (
                parse_count(cell, columns[target]) if text(cell) else (None, None)
            )
            if reason:
                return None, reason
        else:
            values[target] = text(cell) or None
            length = getattr(table.c[target].type, "length", None) if target in table.c else None
            if values[target] and length and len(values[target]) > length:
                return None, f"{columns[target]} is longer than {length} characters"
    if not values.get("name"):
        return None, "missing name"
    status = (values.pop("status", None) or "").lower()
    if status:
        if status not in STATUSES:
            return None, f"unknown status {status!r} (one of {', '.join(STATUSES)})"
        values["status"] = status
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


def locate_record(record, model, columns, crs, postcodes, values):
    """Put a record's point (and a coordinator's patch) into `values`; return why not."""
    point_column = location_column(model)
    geom = record.get("geometry")
    point = reason = None
    if geom is not None and not geom.is_empty:
        if model is Coordinator and geom.geom_type in ("Polygon", "MultiPolygon"):
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


def read_demo(folder=DEMO_FOLDER):
    """Read the demo borough: wards, groups, services, coordinators and postcodes."""
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
    return data


def as_frame(rows):
    """Return rows with a lon/lat "geometry" as a GeoDataFrame."""
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=geo.WGS84)
