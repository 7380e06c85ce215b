"""GeoJSON and CSV writers (RFC 7946; spreadsheet-safe CSV)."""

import csv
import io
import json
import math

import pandas as pd
import shapely
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping

from mapper import analysis, geo

GEOJSON_MIMETYPE = "application/geo+json"


def feature(geom, properties, feature_id=None):
    """Return an RFC 7946 Feature: lon/lat, 6 decimals, counter-clockwise exterior rings."""
    result = {"type": "Feature"}
    if feature_id is not None:
        result["id"] = feature_id
    result["geometry"] = mapping(geo.for_rfc7946(geom)) if geom is not None else None
    result["properties"] = properties
    return result


def located_features(records, properties):
    """Return the Features of many groups or services, converting their points in one go."""
    # A geometry's WKB comes as bytes, a memoryview or (SpatiaLite) hex text, all read here.
    wkbs = [r.geom.data if isinstance(r.geom.data, str) else bytes(r.geom.data) for r in records]
    geoms = geo.for_rfc7946(shapely.from_wkb(wkbs))
    return [
        {"type": "Feature", "id": r.id, "geometry": mapping(g), "properties": properties(r)}
        for r, g in zip(records, geoms, strict=True)
    ]


def feature_collection(features, **members):
    """Return a FeatureCollection (never with a `crs` member) with any extra members."""
    return {"type": "FeatureCollection", **members, "features": list(features)}


def geojson_text(data):
    """Return GeoJSON as compact UTF-8 text."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def ward_properties(ward):
    return {
        "ward_code": ward.code,
        "ward_name": ward.name,
        "la_code": ward.la_code,
        "la_name": ward.la_name,
        "vintage": ward.vintage,
        "population": ward.population,
    }


def group_properties(group):
    """Return the public fields of a group: nothing about who registered it."""
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "categories": [c.slug for c in group.categories],
        "kind": group.kind,
        "ward_code": group.ward.code if group.ward else None,
        "ward_name": group.ward.name if group.ward else None,
        "address": group.address,
        "postcode": group.postcode,
        "website": group.website,
        "contact": group.contact_public,
        "meeting_times": group.meeting_times,
        "charity_number": group.charity_number,
        "status": group.status,
        "last_verified": group.last_verified.isoformat() if group.last_verified else None,
    }


def group_feature(group):
    return feature(to_shape(group.geom), group_properties(group), feature_id=group.id)


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


def gap_records(frame):
    """Return the analysis rows as dicts of plain values, in the documented property order."""
    columns = list(analysis.PROPERTIES)
    return [
        {key: plain(value) for key, value in zip(columns, row, strict=True)}
        for row in frame[columns].itertuples(index=False, name=None)
    ]


def gaps_geojson(frame, attribution):
    """Return the analysis as an RFC 7946 FeatureCollection with a `metadata` member."""
    metadata = dict(frame.attrs["metadata"])
    vintage = metadata["boundary_vintage"]
    vintage = ", ".join(vintage) if isinstance(vintage, list) else str(vintage or "")
    metadata["attribution"] = attribution.replace("{vintage}", vintage)
    return feature_collection(gap_features(frame), metadata=metadata)


def gap_features(frame):
    """Return the analysis rows as RFC 7946 Features, each with its ward code as id."""
    return [
        feature(geom, properties, feature_id=properties["ward_code"])
        for geom, properties in zip(frame.geometry, gap_records(frame), strict=True)
    ]


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
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(analysis.PROPERTIES)
    for record in gap_records(frame):
        writer.writerow([csv_cell(v) for v in record.values()])
    return buffer.getvalue()


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
