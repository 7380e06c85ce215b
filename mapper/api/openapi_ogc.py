"""The OpenAPI parts of OGC API – Features beyond Part 1: CRS (Part 2), queryables (Part 3)
and schemas (Part 5)."""

from mapper.api import ogc_collections, ogc_inputs, openapi_paths
from mapper.api.openapi_paths import get, ok

CONTENT_CRS = {
    "Content-Crs": {
        "description": "The CRS of the coordinates, as <URI> (JSON answers).",
        "schema": {"type": "string"},
    }
}
SCHEMA_TYPE = "application/schema+json"


def with_crs(path_item):
    """Add the Content-Crs header to the 200 answer (`crs` is a parameter of the operation's
    model, api/ogc_inputs.py)."""
    path_item["get"]["responses"]["200"]["headers"] = CONTENT_CRS


def typed_paths(collection):
    """Return the schema and queryables paths of one collection."""
    base = f"/ogc/collections/{collection.id}"
    return {
        f"{base}/schema": get(
            f"{collection.title}: schema",
            "The JSON Schema of the collection's features (OGC API – Features Part 5): each "
            "property with its type, the id and geometry marked by `x-ogc-role`. With "
            "`profile=feature`, the schema of one GeoJSON Feature (what GDAL reads).",
            "OGC API – Features",
            ok("The schema.", {"type": "object"}, SCHEMA_TYPE),
            openapi_paths.model_parameters(ogc_inputs.SchemaQuery),
            errors=("400", "503"),
        ),
        f"{base}/queryables": get(
            f"{collection.title}: queryables",
            "The properties the items can be filtered by, each one a query parameter of "
            "the items (OGC API – Features Part 3), as a JSON Schema.",
            "OGC API – Features",
            ok("The queryables.", {"type": "object"}, SCHEMA_TYPE),
            openapi_paths.model_parameters(ogc_inputs.QueryablesQuery),
            errors=("400", "503"),
        ),
    }


def ogc_paths():
    """Return the OGC API – Features paths of Part 1 with those of Parts 2, 3 and 5."""
    paths = openapi_paths.ogc_paths()
    for collection in ogc_collections.COLLECTIONS.values():
        base = f"/ogc/collections/{collection.id}"
        with_crs(paths[f"{base}/items"])
        with_crs(paths[f"{base}/items/{{featureId}}"])
        paths.update(typed_paths(collection))
    return paths
