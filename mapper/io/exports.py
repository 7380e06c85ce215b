"""GeoJSON and CSV writers (RFC 7946; spreadsheet-safe CSV)."""

import csv
import io
import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping

from mapper import geo
from mapper.io import gis_files
from mapper.store import queries

GEOJSON_MIMETYPE = "application/geo+json"
# A download asked in British National Grid: coordinates to the centimetre, and the CRS named
# the way GDAL and QGIS read it (RFC 7946 itself allows only lon/lat).
BNG_DECIMALS = 2
BNG_CRS_MEMBER = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}


def feature(geom, properties, feature_id=None, decimals=geo.COORDINATE_DECIMALS):
    """Return an RFC 7946 Feature: lon/lat, 6 decimals, counter-clockwise exterior rings."""
    result = {"type": "Feature"}
    if feature_id is not None:
        result["id"] = feature_id
    result["geometry"] = mapping(geo.for_rfc7946(geom, decimals)) if geom is not None else None
    result["properties"] = properties
    return result


def published_points(records):
    """Return the points of many groups or services as they may be published, in one go:
    a group's generalised by its location precision (None where hidden)."""
    # A geometry's WKB comes as bytes, a memoryview or (SpatiaLite) hex text, all read here.
    wkbs = [r.geom.data if isinstance(r.geom.data, str) else bytes(r.geom.data) for r in records]
    points = shapely.from_wkb(wkbs)
    precisions = [getattr(r, "location_precision", None) or "exact" for r in records]
    if len(points) and set(precisions) != {"exact"}:
        lons, lats = geo.published_lonlats(shapely.get_x(points), shapely.get_y(points), precisions)
        points = shapely.points(lons, lats)
        points[np.isnan(lons)] = None
    return points


def located_features(records, properties):
    """Return the Features of many groups or services at their published points."""
    geoms = geo.for_rfc7946(published_points(records))
    return [
        {
            "type": "Feature",
            "id": r.id,
            "geometry": mapping(g) if g is not None else None,
            "properties": properties(r),
        }
        for r, g in zip(records, geoms, strict=True)
    ]


def feature_collection(features, **members):
    """Return a FeatureCollection (never with a `crs` member) with any extra members."""
    return {"type": "FeatureCollection", **members, "features": list(features)}


def geojson_text(data):
    """Return GeoJSON as compact UTF-8 text."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def ward_properties(ward):
    """Return a ward's public properties."""
    return {
        "ward_code": ward.code,
        "ward_name": ward.name,
        "la_code": ward.la_code,
        "la_name": ward.la_name,
        "vintage": ward.vintage,
        "population": ward.population,
    }


def group_properties(group, true_location=False):
    """Return the public fields of a group: nothing about who registered it, and no address
    or postcode where its location is generalised (unless `true_location`)."""
    columns = {name: getattr(group, name) for name in queries.PUBLIC_GROUP_COLUMNS}
    columns["ward_code"] = group.ward.code if group.ward else None
    columns["ward_name"] = group.ward.name if group.ward else None
    categories = [c.slug for c in group.categories]
    return public_group_properties(columns, categories, group.org_ids, true_location)


def public_group_properties(columns, categories, org_ids, true_location=False):
    """Return a group's public fields from its `columns` (queries.PUBLIC_GROUP_COLUMNS,
    `ward_code`, `ward_name`), its category slugs and its org-ids, as group_properties."""
    precision = columns["location_precision"] or "exact"
    withheld = precision != "exact" and not true_location
    last_verified = columns["last_verified"]
    return {
        "id": columns["id"],
        "name": columns["name"],
        "description": columns["description"],
        "categories": categories,
        "kind": columns["kind"],
        "ward_code": columns["ward_code"],
        "ward_name": columns["ward_name"],
        "address": None if withheld else columns["address"],
        "postcode": None if withheld else columns["postcode"],
        "website": columns["website"],
        "contact": columns["contact_public"],
        "meeting_times": columns["meeting_times"],
        "charity_number": columns["charity_number"],
        "org_ids": org_ids,
        "status": columns["status"],
        "last_verified": last_verified.isoformat() if last_verified else None,
        "location_precision": precision,
        "location_note": geo.PRECISION_NOTES.get(precision),
    }


def group_row_features(rows, categories, org_ids):
    """Return the Features of groups read as flat rows (queries.public_group_rows) at their
    published points, with the properties of group_properties; `categories` and `org_ids`
    map a group's id to its slugs and org-ids."""
    precisions = [row.location_precision or "exact" for row in rows]
    lons, lats = geo.published_lonlats([r.lon for r in rows], [r.lat for r in rows], precisions)
    # Rounded as for_rfc7946 rounds: the same numbers as the features of located_features.
    lons = np.round(lons, geo.COORDINATE_DECIMALS).tolist()
    lats = np.round(lats, geo.COORDINATE_DECIMALS).tolist()
    features = []  # NaN where hidden: no point
    for row, lon, lat in zip(rows, lons, lats, strict=True):
        features.append(
            {
                "type": "Feature",
                "id": row.id,
                "geometry": None
                if math.isnan(lon)
                else {"type": "Point", "coordinates": [lon, lat]},
                "properties": public_group_properties(
                    row._mapping, categories.get(row.id, []), org_ids.get(row.id, [])
                ),
            }
        )
    return features


def group_feature(group, true_location=False):
    """Return a group as a Feature with its public properties, at its published point (or,
    for those who may edit it, `true_location`)."""
    point = to_shape(group.geom)
    if not true_location:
        point = geo.published_point(point, group.location_precision)
    return feature(point, group_properties(group, true_location), feature_id=group.id)


def service_properties(service):
    """Return the public fields of a service."""
    return {
        "id": service.id,
        "name": service.name,
        "description": service.description,
        "provider": service.provider,
        "categories": [c.slug for c in service.categories],
        "ward_code": service.ward.code if service.ward else None,
        "ward_name": service.ward.name if service.ward else None,
        "delivery": service.delivery,
        "opening_hours": service.opening_hours,
        "eligibility": service.eligibility,
        "address": service.address,
        "postcode": service.postcode,
        "website": service.website,
        "contact": service.contact_public,
        "status": service.status,
    }


CSV_MIMETYPE = "text/csv"
# A cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def plain(value):
    """Return a JSON-ready Python value: None for NaN/NA, int/float for numpy scalars."""
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def gap_columns(frame):
    """Return the analysis's property names: the frame's columns but its geometry, in order."""
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    return [c for c in frame.columns if c != geometry]


def plain_column(series):
    """Return a column's values as `plain` makes them, column at a time (much faster)."""
    missing = series.isna().tolist()
    return [
        None if gone else (value.item() if isinstance(value, np.generic) else value)
        for value, gone in zip(series.tolist(), missing, strict=True)
    ]


def without_metadata(frame):
    """Return a shallow copy of a frame without its metadata (`attrs`), which pandas would
    otherwise copy deeply into every column taken or measured."""
    bare = frame.copy(deep=False)
    bare.attrs = {}
    return bare


def gap_records(frame):
    """Return the analysis rows as dicts of plain values, in the frame's column order."""
    columns = gap_columns(frame)
    bare = without_metadata(frame)
    values = [plain_column(bare[c]) for c in columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def boundary_attribution(notes, attribution):
    """Return the attribution of boundaries whose stored source notes are `notes` (None for
    those that have none: `attribution`, the configured one, applies), each text once."""
    if not notes:
        return attribution
    return " ".join(dict.fromkeys(attribution if n is None else n for n in notes))


def attribution_of(metadata, attribution):
    """Return the boundary attribution of a frame's wards (their stored source notes, else
    the configured `attribution`) with the frame's vintage(s) filled in."""
    vintage = metadata.get("boundary_vintage")
    vintage = ", ".join(vintage) if isinstance(vintage, list) else str(vintage or "")
    text = boundary_attribution(metadata.get("boundary_attribution"), attribution)
    return text.replace("{vintage}", vintage)


def gaps_geojson(frame, attribution, srid=geo.SRID):
    """Return the analysis as an RFC 7946 FeatureCollection with a `metadata` member, in ward
    order but for the first (`typed_first`); in EPSG:27700 when `srid` says so, with a `crs`
    member naming it (outside RFC 7946)."""
    metadata = dict(frame.attrs["metadata"])
    metadata["attribution"] = attribution_of(metadata, attribution)
    metadata.pop("boundary_attribution", None)  # said in words in `attribution`
    if srid == geo.SRID:
        return feature_collection(typed_first(gap_features(frame)), metadata=metadata)
    features = typed_first(gap_features(frame.to_crs(epsg=srid), BNG_DECIMALS))
    return feature_collection(features, crs=BNG_CRS_MEMBER, metadata=metadata)


def gap_features(frame, decimals=geo.COORDINATE_DECIMALS):
    """Return the analysis rows as RFC 7946 Features, each with its ward code as id."""
    return [
        feature(geom, properties, feature_id=properties["ward_code"], decimals=decimals)
        for geom, properties in zip(frame.geometry, gap_records(frame), strict=True)
    ]


def typed_first(features):
    """Return the features with, first, the first one whose list properties are all non-empty
    (else the one with the most): GDAL types a GeoJSON property by its first non-null value,
    and reads an empty list first as String(JSON) where a list of text is a StringList, so
    every list property then reads as a StringList (docs/gap-analysis.md, "Downloads")."""
    if not features:
        return features
    lists = {k for f in features for k, v in f["properties"].items() if isinstance(v, list)}

    def filled(f):
        return sum(1 for k in lists if f["properties"].get(k))

    best = max(range(len(features)), key=lambda i: (filled(features[i]), -i))
    if filled(features[best]) == filled(features[0]):
        return features
    return [features[best], *features[:best], *features[best + 1 :]]


def csv_cell(value):
    """Return the text of a CSV cell: lists joined with ';', formulas neutralised."""
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    text = str(value)
    # A leading apostrophe makes a spreadsheet show the cell as text instead of running it.
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def gaps_csv(frame):
    """Return the analysis as CSV text: a header, then one row per ward."""
    return rows_csv(gap_columns(frame), gap_records(frame))


def rows_csv(columns, records):
    """Return records (dicts) as spreadsheet-safe CSV text: a header of `columns`, then rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([csv_cell(record.get(c)) for c in columns])
    return buffer.getvalue()


def _about(frame, attribution):
    metadata = frame.attrs["metadata"]
    return gis_files.about_rows(metadata, attribution_of(metadata, attribution))


def _geojson_download(frame, attribution, srid):
    return geojson_text(gaps_geojson(frame, attribution, srid))


def _csv_download(frame, _attribution, _srid):
    return gaps_csv(frame)


def _gpkg_download(frame, attribution, srid):
    return gis_files.geopackage(frame, _about(frame, attribution), srid)


def _shapefile_download(frame, attribution, srid):
    return gis_files.shapefile_zip(frame, _about(frame, attribution), srid)


def _xlsx_download(frame, attribution, _srid):
    return gis_files.workbook(gap_columns(frame), gap_records(frame), _about(frame, attribution))


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The download formats of the gap analysis, and so of its snapshots and of the changes
# between them: extension -> (media type, writer of a frame, in EPSG:srid). A format added
# here is offered by every one of them at once. CSV and XLSX hold no geometry.
GAP_FORMATS = {
    "geojson": (GEOJSON_MIMETYPE, _geojson_download),
    "csv": (CSV_MIMETYPE, _csv_download),
    "gpkg": ("application/geopackage+sqlite3", _gpkg_download),
    "shp.zip": ("application/zip", _shapefile_download),
    "xlsx": (XLSX_MIMETYPE, _xlsx_download),
}
GEO_FORMATS = ("geojson", "gpkg", "shp.zip")  # those of GAP_FORMATS with coordinates
# What people call each format, on the pages that offer it.
FORMAT_LABELS = {
    "geojson": "GeoJSON",
    "csv": "CSV",
    "gpkg": "GeoPackage",
    "shp.zip": "Shapefile, zipped",
    "xlsx": "Excel (XLSX)",
}
# The coordinate reference systems a download may be asked in: lon/lat or British National Grid.
DOWNLOAD_SRIDS = (geo.SRID, geo.BNG)


def write_gaps(frame, extension, attribution, srid=geo.SRID):
    """Return (body, media type) of a frame of ward rows (the analysis, a snapshot, a change)
    in one of GAP_FORMATS and EPSG:`srid`; `attribution` is the boundary licence text
    ({vintage} filled in). GeoJSON and CSV are text, the others bytes."""
    mimetype, write = GAP_FORMATS[extension]
    return write(frame, attribution, srid), mimetype


def gaps_filename(metadata, extension):
    """Return a download name saying what (scope, filters) and when (date generated)."""
    parameters = metadata["parameters"]
    scope = parameters["la"] or parameters["ward"] or ["all-wards"]
    parts = ["community-gaps", "+".join(scope)]
    for key in ("category", "kind"):
        if parameters[key]:
            parts.append("+".join(v.replace(" ", "-") for v in parameters[key]))
    if parameters["as_of"]:
        parts.append(f"as-of-{parameters['as_of']}")
    parts.append(metadata["generated_at"][:10])
    return "_".join(parts) + f".{extension}"
