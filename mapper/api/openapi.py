"""The OpenAPI 3.0 document of the public interfaces: /api/v1, OGC API, Open Referral, evidence.

Plain data, no Flask. tests/api/test_openapi.py checks it against the app's routes, so a route
added under /api/v1 without a description fails the suite.
"""

import copy
import json

from mapper.api.openapi_evidence import evidence_paths
from mapper.api.openapi_ogc import ogc_paths
from mapper.api.openapi_openreferral import openreferral_paths
from mapper.api.openapi_paths import (
    API_V1_PATHS,
    gap_paths,
    json_content,
    ref,
)
from mapper.api.schemas import BODIES, openapi_schema

OPENAPI_VERSION = "3.0.3"


def schemas():
    """Return the shared component schemas: GeoJSON, links, errors, OGC and Open Referral."""
    link = {
        "type": "object",
        "required": ["href"],
        "properties": {
            "href": {"type": "string"},
            "rel": {"type": "string"},
            "type": {"type": "string"},
            "title": {"type": "string"},
        },
    }
    links = {"type": "array", "items": ref("schemas", "Link")}
    return {
        "Link": link,
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message", "fields"],
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "fields": {
                            "type": "object",
                            "description": "The reason for each parameter or field at fault.",
                            "additionalProperties": {"type": "string"},
                        },
                    },
                }
            },
        },
        "Geometry": {
            "type": "object",
            "description": "A GeoJSON geometry (RFC 7946): longitude, latitude in WGS84.",
            "required": ["type"],
            "properties": {
                "type": {"type": "string"},
                "coordinates": {"type": "array", "items": {}},
            },
        },
        "Feature": {
            "type": "object",
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                "geometry": {"allOf": [ref("schemas", "Geometry")], "nullable": True},
                "properties": {"type": "object", "nullable": True},
                "links": links,
            },
        },
        "FeatureCollection": {
            "type": "object",
            "required": ["type", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": ref("schemas", "Feature")},
                "links": links,
                "numberMatched": {"type": "integer", "minimum": 0},
                "numberReturned": {"type": "integer", "minimum": 0},
                "timeStamp": {"type": "string", "format": "date-time"},
            },
        },
        "LandingPage": {
            "type": "object",
            "required": ["links"],
            "properties": {
                "title": {"type": "string"},
                "description": {"type": "string"},
                "links": links,
            },
        },
        "Conformance": {
            "type": "object",
            "required": ["conformsTo"],
            "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}},
        },
        "Collection": {
            "type": "object",
            "required": ["id", "links"],
            "properties": {
                "id": {"type": "string"},
                "title": {"type": "string"},
                "description": {"type": "string"},
                "links": links,
                "extent": {"type": "object"},
                "itemType": {"type": "string"},
                "crs": {"type": "array", "items": {"type": "string"}},
                "storageCrs": {"type": "string"},
            },
        },
        "Collections": {
            "type": "object",
            "required": ["links", "collections"],
            "properties": {
                "links": links,
                "collections": {"type": "array", "items": ref("schemas", "Collection")},
            },
        },
        "OpenReferralPage": {
            "type": "object",
            "description": "The Open Referral UK page wrapper.",
            "required": [
                "total_items",
                "total_pages",
                "page_number",
                "size",
                "first_page",
                "last_page",
                "empty",
                "contents",
            ],
            "properties": {
                "total_items": {"type": "integer"},
                "total_pages": {"type": "integer"},
                "page_number": {"type": "integer"},
                "size": {"type": "integer", "description": "The number of items in this page."},
                "first_page": {"type": "boolean"},
                "last_page": {"type": "boolean"},
                "empty": {"type": "boolean"},
                "contents": {"type": "array", "items": {"type": "object"}},
            },
        },
    }


def error_response(description):
    """Return an error response described by `description`, with the Error body (or a page,
    for a browser or under the OGC API's `f=html`)."""
    return {
        "description": description,
        "content": {
            **json_content(ref("schemas", "Error")),
            "text/html": {"schema": {"type": "string"}},
        },
    }


def refuse_nul(schema):
    """Say in a parameter's schema (or its items') that text has no NUL byte, as the guard
    enforces; a pattern, enum or format of its own already says what text is accepted."""
    schema = schema.get("items", schema)
    if schema.get("type") == "string" and not {"pattern", "enum", "format"} & set(schema):
        schema["pattern"] = "^[^\\x00]*$"


def complete(paths, categories=None):
    """Add to every operation what the app's shared layers answer for every route, so the
    document says it once: a 400 (http/guards.py refuses values no route can take), a 415
    for a body that is not JSON, and the page that `f=html` asks for."""
    for item in paths.values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                refuse_nul(parameter["schema"])
                if parameter.pop("x-vocabulary", None) and categories is not None:
                    parameter["schema"]["items"] = {"type": "string", "enum": list(categories)}
            responses = operation["responses"]
            responses.setdefault("400", ref("responses", "BadRequest"))
            if "requestBody" in operation:
                responses.setdefault("415", ref("responses", "UnsupportedMediaType"))
            if any(p["name"] == "f" for p in operation.get("parameters", [])):
                for answer in responses.values():
                    if "content" in answer:
                        answer["content"].setdefault("text/html", {"schema": {"type": "string"}})
    return paths


def document(server_url="/", categories=None):
    """Return the OpenAPI 3.0 document, with `server_url` as the server's address and, when
    given, the category slugs that the gap analysis accepts (it refuses any other)."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Community Mapper",
            "version": "1",
            "description": (
                "Community groups, services and electoral wards: a JSON API, OGC API – "
                "Features for GIS clients and an Open Referral UK feed. Geometry is GeoJSON "
                "(RFC 7946): longitude, latitude in WGS84. Errors name the parameter at fault."
            ),
        },
        "servers": [{"url": server_url.rstrip("/") or "/"}],
        "tags": [
            {"name": "API v1", "description": "Groups and wards as GeoJSON."},
            {"name": "Gap analysis", "description": "Downloads of the ward-by-ward analysis."},
            {"name": "OGC API – Features", "description": "Read access for GIS clients."},
            {"name": "Open Referral UK", "description": "HSDS 3.0, UK profile."},
            {
                "name": "Evidence",
                "description": "Snapshots of the gap analysis, change between two dates, "
                "the decision log.",
            },
        ],
        "paths": complete(
            copy.deepcopy(
                {
                    **API_V1_PATHS,
                    **gap_paths(),
                    **ogc_paths(),
                    **openreferral_paths(),
                    **evidence_paths(),
                }
            ),
            categories,
        ),
        "components": {
            "schemas": {
                **schemas(),
                **{name: openapi_schema(model) for name, model in BODIES.items()},
            },
            "responses": {
                "BadRequest": error_response("A parameter is wrong; the error names it."),
                "Unauthorised": error_response("No token, or a bad or revoked one."),
                "Forbidden": error_response("The user may not do this to this record."),
                "NotFound": error_response("There is no such record."),
                "Conflict": error_response(
                    "A likely duplicate, or a change that does not fit the record's status."
                ),
                "TooLarge": error_response("The body is over 1 MiB."),
                "UnsupportedMediaType": error_response("The body is not sent as JSON."),
                "Invalid": error_response("Fields are wrong; `fields` names each and why."),
                "Unavailable": error_response("The database cannot be reached."),
                "TooManyRequests": {
                    **error_response("Too many requests from this client: wait and retry."),
                    "headers": {
                        "Retry-After": {
                            "description": "Seconds to wait before trying again.",
                            "schema": {"type": "integer", "minimum": 0},
                        }
                    },
                },
            },
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token made with `mapper create-token`.",
                }
            },
        },
    }


def to_json(document_):
    """Return a document as indented UTF-8 JSON text."""
    return json.dumps(document_, ensure_ascii=False, indent=1)


def operations(document_):
    """Yield (path, method, operation) for every operation of a document, in order."""
    for path, item in document_["paths"].items():
        for method, operation in item.items():
            yield path, method, operation
