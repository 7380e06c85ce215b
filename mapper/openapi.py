"""The OpenAPI 3.0 description of the public interfaces: /api/v1, the OGC API and Open Referral.

Plain data, no Flask. tests/test_openapi.py checks it against the app's routes, so a route
added under /api/v1 without a description here fails the suite.
"""

import json

from mapper import features, registry
from mapper.models import STATUSES

OPENAPI_VERSION = "3.0.3"


def parameter(name, description, schema, where="query", required=False, **extra):
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "description": description,
        "schema": schema,
        **extra,
    }


def codes_parameter(name, description):
    return parameter(
        name,
        f"{description} Repeat the parameter or separate codes with commas.",
        {"type": "array", "items": {"type": "string", "pattern": "^[EWSNK][0-9]{8}$"}},
        style="form",
        explode=False,
    )


def json_content(schema, media_type="application/json"):
    return {media_type: {"schema": schema}}


def ok(description, schema, media_type="application/json"):
    return {"200": {"description": description, "content": json_content(schema, media_type)}}


def ref(kind, name):
    return {"$ref": f"#/components/{kind}/{name}"}


ERRORS = {
    "400": ref("responses", "BadRequest"),
    "401": ref("responses", "Unauthorised"),
    "403": ref("responses", "Forbidden"),
    "404": ref("responses", "NotFound"),
    "409": ref("responses", "Conflict"),
    "413": ref("responses", "TooLarge"),
    "422": ref("responses", "Invalid"),
    "503": ref("responses", "Unavailable"),
}


def operation(summary, description, tag, responses, parameters=(), errors=("400", "503"), **extra):
    return {
        "summary": summary,
        "description": description,
        "tags": [tag],
        "parameters": list(parameters),
        **extra,
        "responses": {**responses, **{code: ERRORS[code] for code in errors}},
    }


def get(*args, **kwargs):
    return {"get": operation(*args, **kwargs)}


BBOX = parameter(
    "bbox",
    "Only features whose geometry meets this box: min_lon,min_lat,max_lon,max_lat in WGS84.",
    {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
    style="form",
    explode=False,
)
CATEGORY = parameter(
    "category",
    "Only records with one of these activity categories (slugs such as food-support); "
    "repeat the parameter or separate slugs with commas.",
    {"type": "array", "items": {"type": "string"}},
    style="form",
    explode=False,
)
LIMIT = parameter(
    "limit",
    "How many items per page. A larger value than the maximum is capped to the maximum.",
    {
        "type": "integer",
        "minimum": 1,
        "maximum": features.MAX_LIMIT,
        "default": features.DEFAULT_LIMIT,
    },
)

GROUP_ID = parameter("group_id", "The group's id.", {"type": "integer"}, where="path")
BEARER = [{"bearerAuth": []}]
OPTIONAL_BEARER = [{}, {"bearerAuth": []}]
GROUP_FEATURE = ref("schemas", "Feature")


def group_input_schema():
    """The fields a client may send to register or edit a group (registry.clean_group)."""
    properties = {
        field: {"type": "string", "maxLength": longest}
        for field, (_column, longest) in registry.GROUP_TEXT_FIELDS.items()
    }
    properties["kind"]["enum"] = list(registry.GROUP_KINDS)
    properties["contact"]["description"] = "The group's public contact."
    properties.update(
        categories={
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "description": "Activity category slugs.",
        },
        wards_served={
            "type": "array",
            "items": {"type": "string", "pattern": "^[EWSNK][0-9]{8}$"},
            "description": "Codes of other wards the group works in.",
        },
        postcode={"type": "string", "description": "Locates the group at its centroid."},
        lon={"type": "number", "minimum": -180, "maximum": 180},
        lat={"type": "number", "minimum": -90, "maximum": 90},
    )
    return {
        "type": "object",
        "description": "The ward is derived from the location (lon and lat, or postcode), "
        "never sent. Read-only fields are refused: " + ", ".join(registry.GROUP_READ_ONLY) + ".",
        "properties": properties,
        "additionalProperties": False,
    }


API_V1_PATHS = {
    "/api/v1/wards": get(
        "Current wards",
        "The current electoral wards as a GeoJSON FeatureCollection.",
        "API v1",
        ok("The wards.", ref("schemas", "FeatureCollection"), "application/geo+json"),
        [
            codes_parameter("la", "Only wards of these local authorities (GSS codes)."),
            parameter(
                "vintage",
                "Wards of this boundary vintage instead of the current ones.",
                {"type": "string"},
            ),
        ],
    ),
    "/api/v1/groups": {
        "get": operation(
            "Community groups",
            "Active groups with their public fields, paged by id: follow the `next` link. "
            "With a token, `status` may ask for other groups: all of them for administrators, "
            "their own organisation's for editors, with the fields they may edit.",
            "API v1",
            ok("A page of groups.", ref("schemas", "FeatureCollection"), "application/geo+json"),
            [
                BBOX,
                codes_parameter("ward", "Only groups based in these wards."),
                CATEGORY,
                parameter(
                    "status",
                    "Groups of these statuses (signed-in users only); default active.",
                    {"type": "array", "items": {"type": "string", "enum": list(STATUSES)}},
                    style="form",
                    explode=False,
                ),
                parameter(
                    "limit",
                    "How many groups per page.",
                    {"type": "integer", "minimum": 1, "maximum": 10_000, "default": 100},
                ),
                parameter(
                    "after",
                    "Only groups whose id is above this one (set by the `next` link).",
                    {"type": "integer", "minimum": 0},
                ),
            ],
            errors=("400", "401", "503"),
            security=OPTIONAL_BEARER,
        ),
        "post": operation(
            "Register a group",
            "Editors and administrators register a group. It starts `pending` unless the "
            "user's organisation is trusted. Retrying with the same `Idempotency-Key` creates "
            "the group once. A likely duplicate (a similar name within 250 m) is a 409 unless "
            "`confirm_duplicate` is true.",
            "API v1",
            {
                "201": {
                    "description": "Created: the stored group, with its id, ward and status.",
                    "headers": {
                        "Location": {"schema": {"type": "string"}},
                        "Idempotent-Replayed": {
                            "description": "`true` when this answers a retry.",
                            "schema": {"type": "string"},
                        },
                    },
                    "content": json_content(GROUP_FEATURE, "application/geo+json"),
                }
            },
            [
                parameter(
                    "Idempotency-Key",
                    "Any unique text (up to 200 printable ASCII characters) per group sent.",
                    {"type": "string", "maxLength": 200},
                    where="header",
                )
            ],
            errors=("401", "403", "409", "413", "422", "503"),
            security=BEARER,
            requestBody={
                "required": True,
                "content": json_content(
                    {
                        "allOf": [ref("schemas", "GroupInput")],
                        "required": ["name", "categories"],
                        "properties": {"confirm_duplicate": {"type": "boolean"}},
                    }
                ),
            },
        ),
    },
    "/api/v1/groups/{group_id}": {
        "get": operation(
            "One community group",
            "A group as a GeoJSON Feature. Groups that are not active are not found, except "
            "by users who may edit them.",
            "API v1",
            ok("The group.", GROUP_FEATURE, "application/geo+json"),
            [GROUP_ID],
            errors=("401", "404", "503"),
            security=OPTIONAL_BEARER,
        ),
        "patch": operation(
            "Edit, approve or close a group",
            "Send the fields to change (an edit by an untrusted organisation to an active "
            "group waits for an administrator: 202 with `pending_change`), or `status` on "
            "its own: `active` (administrators approving a pending group) or `closed` with a "
            "`reason`.",
            "API v1",
            {
                "200": {
                    "description": "Changed: the group as it is now.",
                    "content": json_content(GROUP_FEATURE, "application/geo+json"),
                },
                "202": {
                    "description": "The edit waits for approval; see `pending_change`.",
                    "content": json_content(GROUP_FEATURE, "application/geo+json"),
                },
            },
            [GROUP_ID],
            errors=("401", "403", "404", "409", "413", "422", "503"),
            security=BEARER,
            requestBody={
                "required": True,
                "content": json_content(
                    {
                        "oneOf": [
                            ref("schemas", "GroupInput"),
                            {
                                "type": "object",
                                "required": ["status"],
                                "properties": {
                                    "status": {"type": "string", "enum": ["active", "closed"]},
                                    "reason": {"type": "string"},
                                },
                                "additionalProperties": False,
                            },
                        ]
                    }
                ),
            },
        ),
    },
}


def gap_parameters():
    """The parameters of the gap analysis, as /gaps.geojson takes them (docs/gap-analysis.md)."""
    words = {"type": "array", "items": {"type": "string"}}
    return [
        codes_parameter(
            "la",
            "Analyse the current wards of these local authorities; without `la` and `ward`, "
            "every current ward.",
        ),
        codes_parameter("ward", "Analyse these current wards."),
        parameter(
            "category",
            "Only groups and services with at least one of these category slugs count, and "
            "these are the categories analysed (else the core categories).",
            words,
            style="form",
            explode=False,
        ),
        parameter(
            "kind",
            "Only groups of these kinds count (" + ", ".join(registry.GROUP_KINDS) + ").",
            words,
            style="form",
            explode=False,
        ),
        parameter(
            "as_of",
            "Count the groups that were active on this date instead of those active now.",
            {"type": "string", "format": "date"},
        ),
    ]


def gap_paths():
    paths = {}
    for extension, media_type, schema in (
        ("geojson", "application/geo+json", ref("schemas", "FeatureCollection")),
        ("csv", "text/csv", {"type": "string"}),
    ):
        paths[f"/gaps.{extension}"] = get(
            f"Gap analysis as {extension.upper()}",
            "The gap analysis, one feature (or row) per ward in scope, as a download; the "
            "GeoJSON carries the method and its parameters in a `metadata` member. Method: "
            "docs/gap-analysis.md.",
            "Gap analysis",
            ok("The analysis.", schema, media_type),
            gap_parameters(),
        )
    return paths


def ogc_paths():
    """Return the OGC API – Features paths: the common ones, then one set per collection."""
    f_json_html = parameter(
        "f",
        "The format of the answer; without it the Accept header decides.",
        {"type": "string", "enum": ["json", "html"]},
    )
    paths = {
        "/ogc": get(
            "Landing page",
            "Links to the API definition, the conformance classes and the collections.",
            "OGC API – Features",
            ok("The landing page.", ref("schemas", "LandingPage")),
            [f_json_html],
        ),
        "/ogc/api": get(
            "API definition",
            "This OpenAPI 3.0 document.",
            "OGC API – Features",
            ok(
                "The API definition.",
                {"type": "object"},
                "application/vnd.oai.openapi+json;version=3.0",
            ),
            errors=("503",),
        ),
        "/ogc/conformance": get(
            "Conformance classes",
            "The OGC API – Features conformance classes this API implements.",
            "OGC API – Features",
            ok("The conformance declaration.", ref("schemas", "Conformance")),
            [f_json_html],
        ),
        "/ogc/collections": get(
            "Feature collections",
            "The collections: " + ", ".join(features.COLLECTIONS) + ".",
            "OGC API – Features",
            ok("The collections.", ref("schemas", "Collections")),
            [f_json_html],
        ),
    }
    for collection in features.COLLECTIONS.values():
        base = f"/ogc/collections/{collection.id}"
        filters = []
        for name in collection.filters:
            if name == "category":
                filters.append(CATEGORY)
            else:
                what = "local authorities" if name == "la_code" else "wards"
                filters.append(codes_parameter(name, f"Only features in these {what}."))
        key_schema = {"type": collection.key_type}
        if collection.parameters:  # the gap analysis's own
            filters += gap_parameters()
        paths[base] = get(
            collection.title,
            f"The description of the collection `{collection.id}`.",
            "OGC API – Features",
            ok("The collection.", ref("schemas", "Collection")),
            [f_json_html],
            errors=("404", "503"),
        )
        paths[f"{base}/items"] = get(
            f"{collection.title}: items",
            f"{collection.description} Paged: follow the `next` link. "
            "`numberMatched` counts every matching item.",
            "OGC API – Features",
            ok(
                "A page of features.",
                ref("schemas", "FeatureCollection"),
                "application/geo+json",
            ),
            [
                BBOX,
                LIMIT,
                parameter(
                    "after",
                    "Continue after this feature id (set by the `next` link).",
                    key_schema,
                ),
                parameter(
                    "datetime",
                    "Accepted for conformance; the collection has no temporal property, so "
                    "it selects every feature.",
                    {"type": "string"},
                ),
                *filters,
                f_json_html,
            ],
        )
        paths[f"{base}/items/{{featureId}}"] = get(
            f"{collection.title}: one item",
            f"One feature of `{collection.id}`.",
            "OGC API – Features",
            ok("The feature.", ref("schemas", "Feature"), "application/geo+json"),
            [
                parameter("featureId", "The feature id.", key_schema, where="path"),
                *(gap_parameters() if collection.parameters else []),
                f_json_html,
            ],
            errors=("400", "404", "503") if collection.parameters else ("404", "503"),
        )
    return paths


def openreferral_paths():
    page = parameter(
        "page", "The page number, from 1.", {"type": "integer", "minimum": 1, "default": 1}
    )
    per_page = parameter(
        "per_page",
        "Results per page; a larger value than the maximum is capped.",
        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
    )
    tag = "Open Referral UK"
    return {
        "/openreferral/": get(
            "API information",
            "The HSDS version and profile of this Open Referral UK feed.",
            tag,
            ok("Information about this API.", {"type": "object"}),
            errors=("503",),
        ),
        "/openreferral/services": get(
            "Services",
            "Services and community groups (as the activities of their organisations), "
            "paged; each item follows the UK profile's service_list schema.",
            tag,
            ok("A page of services.", ref("schemas", "OpenReferralPage")),
            [
                parameter("search", "Words found in the name or description.", {"type": "string"}),
                page,
                per_page,
                parameter(
                    "taxonomy_term_id",
                    "Only services with this taxonomy term (its id, or a category slug).",
                    {"type": "string"},
                ),
                parameter(
                    "postcode",
                    "A UK postcode: results are ordered by distance from its centroid.",
                    {"type": "string"},
                ),
                parameter(
                    "proximity",
                    "With `postcode`: only services within this many metres of it.",
                    {"type": "number", "minimum": 0},
                ),
            ],
        ),
        "/openreferral/services/{service_uuid}": get(
            "One service",
            "The full service with its organisation, locations, public contacts, schedules "
            "and taxonomy terms, following the UK profile's service schema.",
            tag,
            ok("The service.", {"type": "object"}),
            [
                parameter(
                    "service_uuid", "The service's id (a UUID).", {"type": "string"}, where="path"
                )
            ],
            errors=("404", "503"),
        ),
        "/openreferral/taxonomies": get(
            "Taxonomies",
            "The one taxonomy used: Community Mapper's activity categories.",
            tag,
            ok("A page of taxonomies.", ref("schemas", "OpenReferralPage")),
            [page, per_page],
        ),
        "/openreferral/taxonomies/{taxonomy_uuid}": get(
            "One taxonomy",
            "A taxonomy by id.",
            tag,
            ok("The taxonomy.", {"type": "object"}),
            [
                parameter(
                    "taxonomy_uuid", "The taxonomy's id (a UUID).", {"type": "string"}, where="path"
                )
            ],
            errors=("404", "503"),
        ),
        "/openreferral/taxonomy_terms": get(
            "Taxonomy terms",
            "Our activity categories as taxonomy terms.",
            tag,
            ok("A page of taxonomy terms.", ref("schemas", "OpenReferralPage")),
            [page, per_page],
        ),
        "/openreferral/taxonomy_terms/{term_id}": get(
            "One taxonomy term",
            "A taxonomy term by id (a UUID) or category slug.",
            tag,
            ok("The taxonomy term.", {"type": "object"}),
            [
                parameter(
                    "term_id", "The term's id or category slug.", {"type": "string"}, where="path"
                )
            ],
            errors=("404", "503"),
        ),
    }


def schemas():
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
    return {"description": description, "content": json_content(ref("schemas", "Error"))}


def document(server_url="/"):
    """Return the OpenAPI 3.0 document, with `server_url` as the server's address."""
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
        ],
        "paths": {**API_V1_PATHS, **gap_paths(), **ogc_paths(), **openreferral_paths()},
        "components": {
            "schemas": {**schemas(), "GroupInput": group_input_schema()},
            "responses": {
                "BadRequest": error_response("A parameter is wrong; the error names it."),
                "Unauthorised": error_response("No token, or a bad or revoked one."),
                "Forbidden": error_response("The user may not do this to this record."),
                "NotFound": error_response("There is no such record."),
                "Conflict": error_response(
                    "A likely duplicate, or a change that does not fit the record's status."
                ),
                "TooLarge": error_response("The body is over 1 MiB."),
                "Invalid": error_response("Fields are wrong; `fields` names each and why."),
                "Unavailable": error_response("The database cannot be reached."),
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
    return json.dumps(document_, ensure_ascii=False, indent=1)


def operations(document_):
    """Yield (path, method, operation) for every operation of a document, in order."""
    for path, item in document_["paths"].items():
        for method, operation in item.items():
            yield path, method, operation
