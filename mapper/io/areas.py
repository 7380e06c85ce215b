"""Readers of area files: ward boundaries, populations, deprivation (IMD); postcodes are
read by mapper.io.postcodes (`read_postcodes` is re-exported here)."""

import re

import geopandas as gpd
import shapely

from mapper import geo
from mapper.errors import Invalid
from mapper.io.columns import (
    GSS_CODE,
    LA_PREFIXES,
    LSOA_PREFIXES,
    WARD_PREFIXES,
    choose_columns,
    code_problem,
    data_columns,
    normalise_name,
    parse_count,
    parse_number,
    require,
    shorten,
    text,
)
from mapper.io.postcodes import POSTCODE_FIELDS, read_postcodes  # noqa: F401 - re-exported
from mapper.io.reading import Reading, read_frame, read_table, records
from mapper.io.text import clean_text
from mapper.store.models import Ward

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
                reason = (
                    "no geometry, or one that cannot be read (NaN coordinates, a ring not closed)"
                )
            elif geom.geom_type not in ("Polygon", "MultiPolygon"):
                reason = f"geometry is a {geom.geom_type}, not a polygon"
            else:
                reason = geo.vertex_problem(geom)
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
    la_code, la_name, vintage = ward_options(la_code, la_name, vintage)
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
        reason = "missing vintage" if not values["vintage"] else ward_text_problem(values, columns)
        if reason:
            reading.reject(index, where, reason)
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


def ward_options(la_code, la_name, vintage):
    """Return the import's --la-code, --la-name and --vintage checked as a row's cells are;
    a bad one stops the import (Invalid naming the option)."""
    if la_code is not None:
        la_code = la_code.strip().upper()
        if not GSS_CODE.fullmatch(la_code) or not la_code.startswith(LA_PREFIXES):
            raise Invalid(
                f"--la-code {shorten(la_code)!r} is not a local authority's GSS code "
                f"({', '.join(p + '…' for p in LA_PREFIXES)}, e.g. E08000003)"
            )
    for option, value, column in (
        ("--la-name", la_name, "la_name"),
        ("--vintage", vintage, "vintage"),
    ):
        if value is not None:
            cleaned, reason = clean_text(value, Ward.__table__.c[column].type.length, required=True)
            if reason:
                raise Invalid(f"{option} {reason}")
            if option == "--la-name":
                la_name = cleaned
            else:
                vintage = cleaned
    return la_code, la_name, vintage


def ward_text_problem(values, columns):
    """Return why a ward's text cannot be stored, naming the column (lengths, NUL bytes…)."""
    for field in ("code", "name", "la_code", "la_name", "vintage"):
        value = values[field]
        if not value:
            continue
        column = columns.get(field, f"--{field.replace('_', '-')}")
        longest = Ward.__table__.c[field].type.length
        cleaned, reason = clean_text(value, longest, required=field == "name")
        if reason:
            return f"{column} {reason}"
        if field == "la_code" and not GSS_CODE.fullmatch(cleaned):
            return f"{column} {shorten(cleaned)!r} is not an ONS GSS code (such as E08000003)"
        values[field] = cleaned
    return None


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
    the LSOA's point-on-surface; mapper.core.wards turns them into ward figures. By ward, rows
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
