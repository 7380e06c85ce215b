"""The OpenAPI operations of every interface, path by path, and the parts they are made of."""

from mapper.api import ogc_collections, ogc_inputs, schemas
from mapper.http import gap_inputs
from mapper.http.params import DOWNLOAD_CRS, WORD
from mapper.io import exports
from mapper.store.models import MAX_ID

# A slug or kind as `params.words` accepts it, and an id or cursor as the columns hold it.
WORD_SCHEMA = {"type": "string", "pattern": WORD.replace("[a-z0-9", "[A-Za-z0-9")}
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
CURSOR_SCHEMA = {"type": "integer", "minimum": 0, "maximum": MAX_ID}


def parameter(name, description, schema, where="query", required=False, **extra):
    """Return an OpenAPI parameter object."""
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "description": description,
        "schema": schema,
        **extra,
    }


def codes_parameter(name, description):
    """Return a parameter taking ONS GSS codes, repeated or comma-separated (params.codes)."""
    schema = {"type": "array", "items": {"type": "string", "pattern": "^[EWSNK][0-9]{8}$"}}
    return parameter(
        name,
        f"{description} Repeat the parameter or separate codes with commas.",
        schema,
        style="form",
        explode=False,
    )


def json_content(schema, media_type="application/json"):
    """Return a content object of one media type with `schema`."""
    return {media_type: {"schema": schema}}


def ok(description, schema, media_type="application/json"):
    """Return a 200 response of one media type with `schema`."""
    return {"200": {"description": description, "content": json_content(schema, media_type)}}


def ref(kind, name):
    """Return a $ref to a component of `kind` called `name`."""
    return {"$ref": f"#/components/{kind}/{name}"}


ERRORS = {
    "400": ref("responses", "BadRequest"),
    "401": ref("responses", "Unauthorised"),
    "403": ref("responses", "Forbidden"),
    "404": ref("responses", "NotFound"),
    "409": ref("responses", "Conflict"),
    "413": ref("responses", "TooLarge"),
    "422": ref("responses", "Invalid"),
    "429": ref("responses", "TooManyRequests"),
    "503": ref("responses", "Unavailable"),
}


def operation(summary, description, tag, responses, parameters=(), errors=("400", "503"), **extra):
    """Return an operation with its responses and the standard error responses in `errors`."""
    return {
        "summary": summary,
        "description": description,
        "tags": [tag],
        "parameters": list(parameters),
        **extra,
        "responses": {**responses, **{code: ERRORS[code] for code in errors}},
    }


def get(*args, **kwargs):
    """Return a path item with one GET operation."""
    return {"get": operation(*args, **kwargs)}


GROUP_ID = parameter("group_id", "The group's id.", ID_SCHEMA, where="path")


BEARER = [{"bearerAuth": []}]


OPTIONAL_BEARER = [{}, {"bearerAuth": []}]


GROUP_FEATURE = ref("schemas", "Feature")


API_V1_PATHS = {
    "/api/v1/wards": get(
        "Current wards",
        "The current electoral wards as a GeoJSON FeatureCollection.",
        "API v1",
        ok("The wards.", ref("schemas", "FeatureCollection"), "application/geo+json"),
        schemas.query_parameters(schemas.WardsQuery),
    ),
    "/api/v1/groups": {
        "get": operation(
            "Community groups",
            "Active groups with their public fields, paged by id: follow the `next` link. "
            "With a token, `status` may ask for other groups: all of them for administrators, "
            "their own organisation's for editors, with the fields they may edit. A group's "
            "`location_precision` says where it is published: `exact`, `approximate` (the "
            "centre of its 1 km British National Grid square, no address) or `hidden` (null "
            "geometry, ward only); `bbox` finds only exact ones. Its organisation's editors "
            "and administrators get the true point.",
            "API v1",
            ok("A page of groups.", ref("schemas", "FeatureCollection"), "application/geo+json"),
            schemas.query_parameters(schemas.GroupsQuery),
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
                    {"type": "string", "pattern": "^[\\x20-\\x7e]{1,200}$"},
                    where="header",
                )
            ],
            errors=("401", "403", "409", "413", "422", "429", "503"),
            security=BEARER,
            requestBody={"required": True, "content": json_content(ref("schemas", "GroupCreate"))},
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
            errors=("401", "403", "404", "409", "413", "422", "429", "503"),
            security=BEARER,
            requestBody={
                "required": True,
                "content": json_content(
                    {"oneOf": [ref("schemas", "GroupInput"), ref("schemas", "StatusChange")]}
                ),
            },
        ),
    },
}


def model_parameters(model):
    """The parameters of an operation, from the query model its handler validates with
    (http/gap_inputs.py, api/ogc_inputs.py); `category` lists the stored slugs
    (`x-vocabulary`), as an unknown one is a 400."""
    parameters = schemas.query_parameters(model)
    for parameter_ in parameters:
        if parameter_["name"] == "category":
            parameter_["x-vocabulary"] = "categories"
    return parameters


def download_schema(extension):
    """The schema of a download of ward rows in a GAP_FORMAT."""
    if extension == "geojson":
        return ref("schemas", "FeatureCollection")
    return {"type": "string"} if extension == "csv" else {"type": "string", "format": "binary"}


def download_media_type(extension):
    """The media type of a download of ward rows in a GAP_FORMAT."""
    return exports.GAP_FORMATS[extension][0]


def crs_parameter():
    """`crs` of every download of ward rows (http.params.download_crs)."""
    return parameter(
        "crs",
        "The coordinates' reference system: lon/lat (EPSG:4326, CRS84; the default) or "
        "British National Grid (EPSG:27700, to the centimetre; a GeoJSON then names it in a "
        "`crs` member, outside RFC 7946). CSV and XLSX hold no coordinates.",
        {"type": "string", "enum": sorted(DOWNLOAD_CRS)},
    )


def gap_paths():
    """Return the paths of the gap-analysis downloads, /gaps.geojson, .csv, .gpkg, .shp.zip
    and .xlsx."""
    paths = {}
    for extension, label in exports.FORMAT_LABELS.items():
        paths[f"/gaps.{extension}"] = get(
            f"Gap analysis as {label}",
            "The gap analysis, one feature (or row) per ward in scope, as a download; the "
            "GeoJSON carries the method and its parameters in a `metadata` member, the "
            "GeoPackage in its layer's metadata, the Shapefile's zip in `about.txt` (and its "
            "10-character field names' full names in `fields.csv`), the XLSX on a sheet "
            "`About`. Method: docs/gap-analysis.md.",
            "Gap analysis",
            ok("The analysis.", download_schema(extension), download_media_type(extension)),
            model_parameters(gap_inputs.GapDownloadQuery),
        )
    return paths


def ogc_paths():
    """Return the OGC API – Features paths: the common ones, then one set per collection."""
    f_json_html = schemas.query_parameters(ogc_inputs.FormatQuery)[0]
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
            "This OpenAPI 3.0 document; as HTML, the page that presents it.",
            "OGC API – Features",
            ok(
                "The API definition.",
                {"type": "object"},
                "application/vnd.oai.openapi+json;version=3.0",
            ),
            [f_json_html],
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
            "The collections: " + ", ".join(ogc_collections.COLLECTIONS) + ".",
            "OGC API – Features",
            ok("The collections.", ref("schemas", "Collections")),
            [f_json_html],
        ),
    }
    for collection in ogc_collections.COLLECTIONS.values():
        base = f"/ogc/collections/{collection.id}"
        key_schema = ID_SCHEMA if collection.key_type == "integer" else {"type": "string"}
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
            model_parameters(ogc_inputs.items_query(collection.id)),
        )
        paths[f"{base}/items/{{featureId}}"] = get(
            f"{collection.title}: one item",
            f"One feature of `{collection.id}`.",
            "OGC API – Features",
            ok("The feature.", ref("schemas", "Feature"), "application/geo+json"),
            [
                parameter("featureId", "The feature id.", key_schema, where="path"),
                *model_parameters(ogc_inputs.item_query(collection.id)),
            ],
            errors=("400", "404", "503"),
        )
    return paths
