"""The query parameters of OGC API – Features, declared once as pydantic models: the handlers
validate with them (api/ogc.py) and the OpenAPI document lists them from the same models
(api/openapi_paths.py), so a limit is documented exactly when it is enforced.

One model per operation and collection (`items_query`, `item_query`), built from what each
collection filters by; the gaps collection's take the gap analysis's parameters too.
"""

import functools
import math
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, create_model

from mapper.api import ogc_collections, ogc_crs
from mapper.http.gap_inputs import GapQuery, GapWord
from mapper.http.inputs import GssCode, Query, query_int
from mapper.store.models import MAX_ID

BBOX_HELP = "expected four numbers min_lon,min_lat,max_lon,max_lat or six with heights"
DATETIME = re.compile(ogc_collections.DATETIME_PATTERN)


def _bbox_numbers(values):
    """Read a bbox's values as four or six finite numbers."""
    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError):
        raise ValueError(BBOX_HELP) from None
    if len(numbers) not in (4, 6) or not all(math.isfinite(n) for n in numbers):
        raise ValueError(BBOX_HELP)
    return numbers


def _supported_crs(value):
    if value not in ogc_crs.SUPPORTED:
        raise ValueError("unsupported; use one of " + ", ".join(ogc_crs.SUPPORTED))
    return value


def _datetime(value):
    if not DATETIME.match(value):
        raise ValueError("expected an RFC 3339 date-time or an interval such as 2024-01-01/..")
    return value


def _capped(value):
    # OGC API – Features Part 1, clause 7.15.4 (/req/core/fc-limit-response-1): a limit over
    # the server's maximum is no error but served as the maximum, so no `maximum` is declared.
    return min(value, ogc_collections.MAX_LIMIT)


Bbox = Annotated[
    list[float],
    Field(json_schema_extra={"oneOf": [{"minItems": n, "maxItems": n} for n in (4, 6)]}),
    BeforeValidator(_bbox_numbers),
]
Crs = Annotated[
    str,
    Field(json_schema_extra={"format": "uri", "enum": list(ogc_crs.SUPPORTED)}),
    AfterValidator(_supported_crs),
]
Limit = Annotated[query_int(1, None), AfterValidator(_capped)]
DateTime = Annotated[
    str,
    Field(json_schema_extra={"pattern": ogc_collections.DATETIME_PATTERN}),
    AfterValidator(_datetime),
]
Codes = Annotated[list[GssCode], Field(min_length=1)]

CRS_TEXT = (
    "The CRS of the coordinates in the answer: CRS84 (longitude, latitude; the default), "
    "EPSG:4326 (latitude, longitude) or EPSG:27700 (British National Grid easting, northing "
    "in metres). The Content-Crs header says which was used."
)
BBOX_CRS_TEXT = (
    "The CRS of `bbox`: CRS84 (the default), EPSG:4326 (min_lat,min_lon,max_lat,max_lon) or "
    "EPSG:27700 (min_easting,min_northing,max_easting,max_northing within the grid)."
)


F_FIELD = (
    Literal["json", "html"],
    Field(None, description="The format of the answer; without it the Accept header decides."),
)
FormatQuery = create_model(
    "FormatQuery",
    __base__=Query,
    __doc__="The one parameter of every OGC resource: the format of the answer.",
    f=F_FIELD,
)


def _filter_field(name):
    if name == "category":
        return list[GapWord], Field(
            None,
            description="Only records with one of these activity categories (slugs such as "
            "food-support); repeat the parameter or separate slugs with commas.",
        )
    what = "local authorities" if name == "la_code" else "wards"
    return Codes, Field(
        None,
        description=f"Only features in these {what}. Repeat the parameter or separate codes "
        "with commas.",
    )


def _base(collection):
    return GapQuery if collection.parameters else Query


def _crs_field():
    return Crs, Field(None, description=CRS_TEXT)


@functools.cache
def items_query(collection_id):
    """Return the model of the items query of a collection."""
    collection = ogc_collections.COLLECTIONS[collection_id]
    after = query_int(0, MAX_ID) if collection.key_type == "integer" else str
    fields = {
        "bbox": (
            Bbox,
            Field(
                None,
                description="Only features that intersect this box (CRS84): 4 numbers, or 6 "
                "with heights; min_lon > max_lon crosses the antimeridian.",
            ),
        ),
        "limit": (
            Limit,
            Field(
                ogc_collections.DEFAULT_LIMIT,
                description=f"How many items per page, at most {ogc_collections.MAX_LIMIT:,}: "
                "a larger value is served as the maximum, as OGC API – Features asks.",
            ),
        ),
        "after": (
            after,
            Field(None, description="Continue after this feature id (set by the `next` link)."),
        ),
        "datetime": (
            DateTime,
            Field(
                None,
                description="Accepted for conformance; the collection has no temporal "
                "property, so it selects every feature.",
            ),
        ),
        **{name: _filter_field(name) for name in collection.filters},
        "bbox_crs": (Crs, Field(None, alias="bbox-crs", description=BBOX_CRS_TEXT)),
        "crs": _crs_field(),
        "f": F_FIELD,
    }
    return create_model(
        f"ItemsQuery_{collection_id}",
        __base__=_base(collection),
        __doc__=f"The query of /ogc/collections/{collection_id}/items.",
        **fields,
    )


@functools.cache
def item_query(collection_id):
    """Return the model of the query of one item of a collection."""
    collection = ogc_collections.COLLECTIONS[collection_id]
    return create_model(
        f"ItemQuery_{collection_id}",
        __base__=_base(collection),
        __doc__=f"The query of /ogc/collections/{collection_id}/items/{{featureId}}.",
        crs=_crs_field(),
        f=F_FIELD,
    )


JSON_ONLY = (Literal["json"], Field(None, description="The format: JSON only."))
QueryablesQuery = create_model(
    "QueryablesQuery",
    __base__=Query,
    __doc__="The query of a collection's queryables (Part 3): JSON only.",
    f=JSON_ONLY,
)
SchemaQuery = create_model(
    "SchemaQuery",
    __base__=Query,
    __doc__="The query of a collection's schema (Part 5): JSON only, of a feature or not.",
    profile=(
        Literal["feature"],
        Field(None, description="feature: the schema of one GeoJSON Feature."),
    ),
    f=JSON_ONLY,
)
