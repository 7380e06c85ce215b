"""The OpenAPI parts of OGC API – Features beyond Part 1: CRS (Part 2), queryables (Part 3)
and schemas (Part 5)."""

from mapper.api import ogc_collections, ogc_crs, openapi_paths
from mapper.api.openapi_paths import get, ok, parameter

CRS_SCHEMA = {"type": "string", "format": "uri", "enum": list(ogc_crs.SUPPORTED)}
CRS = parameter(
    "crs",
    "The CRS of the coordinates in the answer: CRS84 (longitude, latitude; the default), "
    "EPSG:4326 (latitude, longitude) or EPSG:27700 (British National Grid easting, northing "
    "in metres). The Content-Crs header says which was used.",
    CRS_SCHEMA,
)
BBOX_CRS = parameter(
    "bbox-crs",
    "The CRS of `bbox`: CRS84 (the default), EPSG:4326 (min_lat,min_lon,max_lat,max_lon) or "
    "EPSG:27700 (min_easting,min_northing,max_easting,max_northing within the grid).",
    CRS_SCHEMA,
)
CONTENT_CRS = {
    "Content-Crs": {
        "description": "The CRS of the coordinates, as <URI> (JSON answers).",
        "schema": {"type": "string"},
    }
}
JSON_ONLY = parameter("f", "The format: JSON only.", {"type": "string", "enum": ["json"]})
SCHEMA_TYPE = "application/schema+json"


def with_crs(path_item, *added):
    """Add the `added` parameters before `f`, and the Content-Crs header to the 200 answer."""
    operation = path_item["get"]
    operation["parameters"][-1:-1] = added  # `f` stays last
    operation["responses"]["200"]["headers"] = CONTENT_CRS
    operation["responses"].setdefault("400", openapi_paths.ERRORS["400"])  # an unknown crs


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
            [
                parameter(
                    "profile",
                    "feature: the schema of one GeoJSON Feature.",
                    {"type": "string", "enum": ["feature"]},
                ),
                JSON_ONLY,
            ],
            errors=("400", "503"),
        ),
        f"{base}/queryables": get(
            f"{collection.title}: queryables",
            "The properties the items can be filtered by, each one a query parameter of "
            "the items (OGC API – Features Part 3), as a JSON Schema.",
            "OGC API – Features",
            ok("The queryables.", {"type": "object"}, SCHEMA_TYPE),
            [JSON_ONLY],
            errors=("400", "503"),
        ),
    }


def ogc_paths():
    """Return the OGC API – Features paths of Part 1 with those of Parts 2, 3 and 5."""
    paths = openapi_paths.ogc_paths()
    for collection in ogc_collections.COLLECTIONS.values():
        base = f"/ogc/collections/{collection.id}"
        with_crs(paths[f"{base}/items"], BBOX_CRS, CRS)
        with_crs(paths[f"{base}/items/{{featureId}}"], CRS)
        paths.update(typed_paths(collection))
    return paths
