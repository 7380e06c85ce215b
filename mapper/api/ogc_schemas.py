"""The typed layers of the OGC collections: Part 5 schemas and Part 3 queryables.

Each collection's properties and their JSON types, written once: the Part 5 schema
(`/collections/{id}/schema`, the properties with `x-ogc-role`), the JSON Schema of a GeoJSON
Feature that GDAL 3.6 reads from its `describedBy` link (`?profile=feature`; one JSON type a
property, which GDAL turns into Integer, Real or String fields; null stands for "unknown"), and
the queryables (`/collections/{id}/queryables`), the property filters the items take.
"""

from mapper import geo
from mapper.core import analysis

JSON_SCHEMA = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_MEDIA_TYPE = "application/schema+json"
GEOMETRY_FORMATS = {"point": "geometry-point", "multipolygon": "geometry-multipolygon"}

TEXT, INTEGER, NUMBER = "string", "integer", "number"
TEXTS = "array"  # a list of strings (category slugs)
# Each property: (JSON type, may be null, title).
WARD = {
    "ward_code": (TEXT, False, "Ward code (ONS GSS)"),
    "ward_name": (TEXT, False, "Ward name"),
    "la_code": (TEXT, False, "Local authority code (ONS GSS)"),
    "la_name": (TEXT, False, "Local authority name"),
    "vintage": (TEXT, True, "Boundary vintage"),
    "population": (INTEGER, True, "Residents, where imported"),
}
LOCATED = {
    "id": (INTEGER, False, "Record id"),
    "name": (TEXT, False, "Name"),
    "description": (TEXT, True, "Description"),
    "categories": (TEXTS, False, "Activity categories (slugs)"),
}
PLACE = {
    "ward_code": (TEXT, True, "Ward code (ONS GSS)"),
    "ward_name": (TEXT, True, "Ward name"),
}
CONTACT = {
    "address": (TEXT, True, "Address"),
    "postcode": (TEXT, True, "Postcode"),
    "website": (TEXT, True, "Website"),
    "contact": (TEXT, True, "Public contact"),
}
GROUP = {
    **LOCATED,
    "kind": (TEXT, True, "Kind of group"),
    **PLACE,
    **CONTACT,
    "meeting_times": (TEXT, True, "Meeting times"),
    "charity_number": (TEXT, True, "Charity number"),
    "org_ids": (TEXTS, False, "Organisation identifiers (org-id.guide, e.g. GB-CHC-1234567)"),
    "status": (TEXT, False, "Status"),
    "last_verified": (TEXT, True, "Last verified (date)"),
    "location_precision": (TEXT, False, "Where its location is published"),
    "location_note": (TEXT, True, "How its location is published"),
}
SERVICE = {
    **LOCATED,
    "provider": (TEXT, True, "Provider"),
    **PLACE,
    "delivery": (TEXT, True, "Delivery"),
    "opening_hours": (TEXT, True, "Opening hours"),
    "eligibility": (TEXT, True, "Eligibility"),
    **CONTACT,
    "status": (TEXT, False, "Status"),
}
GAP_TYPES = {
    "population": (INTEGER, True),
    "area_km2": (NUMBER, True),
    "groups": (INTEGER, False),
    "groups_per_1k": (NUMBER, True),
    "groups_serving": (INTEGER, False),
    "groups_stale": (INTEGER, False),
    "services": (INTEGER, False),
    "services_per_1k": (NUMBER, True),
    "categories_present": (TEXTS, False),
    "categories_missing": (TEXTS, False),
    "coordinator_coverage": (NUMBER, True),
    "nearest_group_km": (NUMBER, True),
    "imd_decile": (INTEGER, True),
    "imd_rank": (INTEGER, True),
    "imd_share_10pct": (NUMBER, True),
    "imd_share_20pct": (NUMBER, True),
}


def _gap_type(name):
    if name.startswith("reach_"):  # a share of residents, 0 to 1 (core/reach.py)
        return NUMBER, True
    return GAP_TYPES.get(name, WARD.get(name, (TEXT, True))[:2])


GAP = {name: (*_gap_type(name), name.replace("_", " ")) for name in analysis.PROPERTIES}
ENUMS = {
    "activity_class": analysis.ACTIVITY_CLASSES,
    "priority": analysis.PRIORITIES,
    "location_precision": geo.PRECISIONS,
}
PROPERTIES = {"wards": WARD, "groups": GROUP, "services": SERVICE, "gaps": GAP}
GEOMETRIES = {
    "wards": "multipolygon",
    "groups": "point",
    "services": "point",
    "gaps": "multipolygon",
}
# The feature id is this property's value (the ward code, the record id).
ID_PROPERTY = {"wards": "ward_code", "groups": "id", "services": "id", "gaps": "ward_code"}


def property_schema(name, kind, nullable, title, one_type=False):
    """Return the JSON Schema of one property; `one_type` drops "null" from its type."""
    schema = {"title": title, "type": kind if one_type or not nullable else [kind, "null"]}
    if kind == TEXTS:
        schema["items"] = {"type": TEXT}
    if name in ENUMS:
        schema["enum"] = list(ENUMS[name]) + ([] if one_type or not nullable else [None])
    return schema


def schema(collection, url):
    """Return the Part 5 schema of a collection: its properties, the id and the geometry."""
    properties = {}
    for name, (kind, nullable, title) in PROPERTIES[collection.id].items():
        properties[name] = property_schema(name, kind, nullable, title)
        if name == ID_PROPERTY[collection.id]:
            properties[name]["x-ogc-role"] = "id"
    properties["geometry"] = {
        "title": "Geometry (CRS84 unless another crs is asked for)",
        "format": GEOMETRY_FORMATS[GEOMETRIES[collection.id]],
        "x-ogc-role": "primary-geometry",
    }
    return {
        "$schema": JSON_SCHEMA,
        "$id": url,
        "title": collection.title,
        "description": collection.description,
        "type": "object",
        "properties": properties,
    }


def feature_schema(collection, url):
    """Return the JSON Schema of one GeoJSON Feature of a collection, as GDAL 3.6 reads it."""
    geometry = "Point" if GEOMETRIES[collection.id] == "point" else "MultiPolygon"
    properties = {
        name: property_schema(name, kind, nullable, title, one_type=True)
        for name, (kind, nullable, title) in PROPERTIES[collection.id].items()
    }
    return {
        "$schema": JSON_SCHEMA,
        "$id": url,
        "title": f"A feature of {collection.title}",
        "description": "A GeoJSON Feature; a property that is null is unknown.",
        "type": "object",
        "properties": {
            "type": {"type": TEXT, "enum": ["Feature"]},
            "id": {"type": INTEGER if collection.key_type == "integer" else TEXT},
            "geometry": {
                "type": "object",
                "properties": {
                    "type": {"type": TEXT, "enum": [geometry]},
                    "coordinates": {"type": "array"},
                },
            },
            "properties": {"type": "object", "properties": properties},
        },
    }


def queryables(collection, url, categories=()):
    """Return the Part 3 queryables of a collection: the property filters its items take."""
    properties = {}
    for name in collection.filters:
        if name == "category":
            item = {"type": TEXT, "enum": list(categories)} if categories else {"type": TEXT}
            properties[name] = {
                "title": "Activity category (slug); a feature matches one of those given",
                "type": "array",
                "items": item,
            }
        else:
            what = "local authority" if name == "la_code" else "ward"
            properties[name] = {
                "title": f"The {what}'s ONS GSS code",
                "type": TEXT,
                "pattern": "^[EWSNK][0-9]{8}$",
            }
    return {
        "$schema": JSON_SCHEMA,
        "$id": url,
        "title": f"The queryables of {collection.title}",
        "description": "Each one is a query parameter of the items: name=value, several "
        "values separated by commas.",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
