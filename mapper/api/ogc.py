"""Blueprint `ogc`: OGC API – Features Part 1 (Core, GeoJSON, HTML, OpenAPI 3.0), read-only.

Every resource answers JSON (GeoJSON for features) or an HTML page, chosen by `f=json|html`
or else by the Accept header. The collections and their queries live in `mapper.features`.
"""

from datetime import UTC, datetime

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from mapper.api import ogc_collections, ogc_crs, ogc_inputs, ogc_schemas, openapi
from mapper.core import analysis
from mapper.errors import NotFound
from mapper.http import params
from mapper.http.inputs import parse_query
from mapper.http.responses import geojson_response
from mapper.store import queries
from mapper.store.db import get_session

ogc = Blueprint("ogc", __name__, url_prefix="/ogc")

JSON, GEOJSON, HTML = "application/json", "application/geo+json", "text/html"
OPENAPI_MIMETYPE = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas",
]
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"


def output_format():
    """Return 'json' or 'html': the `f` parameter, else the best match for Accept."""
    f = parse_query(ogc_inputs.FormatQuery, request.args).f
    if f is None:
        best = request.accept_mimetypes.best_match([JSON, GEOJSON, HTML])
        return "html" if best == HTML else "json"
    return f


def link(rel, href, media_type, title):
    """Return an OGC link object."""
    return {"rel": rel, "type": media_type, "title": title, "href": href}


def self_links(endpoint, json_type=JSON, **values):
    """Return the self link of the format answered and the alternate of the other one."""
    json_url = url_for(endpoint, _external=True, **values, f="json")
    html_url = url_for(endpoint, _external=True, **values, f="html")
    json_name = "GeoJSON" if json_type == GEOJSON else "JSON"
    json_link = link("self", json_url, json_type, f"This document as {json_name}")
    html_link = link("alternate", html_url, HTML, "This document as HTML")
    if output_format() == "html":
        json_link["rel"], html_link["rel"] = "alternate", "self"
    return [json_link, html_link]


def answer(data, template, json_type=JSON, **context):
    """Answer `data` as HTML, GeoJSON or JSON, as the request's `f` asks."""
    if output_format() == "html":
        return render_template(template, data=data, **context)
    if json_type == GEOJSON:
        return geojson_response(data)
    return jsonify(data)


def get_collection(collection_id):
    """Return the collection called `collection_id`; 404 for any other."""
    collection = ogc_collections.COLLECTIONS.get(collection_id)
    if collection is None:
        raise NotFound(f"There is no collection '{collection_id}'.")
    return collection


def collection_description(collection, session):
    """Return the OGC description of one collection, with its extent and links."""
    extent = collection.extent(session)
    items_url = url_for("ogc.items", collection_id=collection.id, _external=True)
    data = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "crs": list(ogc_crs.SUPPORTED),
        "storageCrs": ogc_crs.STORAGE,
        "links": [
            # A plain path: GDAL appends /{id} to it to fetch one feature; `type` says GeoJSON.
            link("items", items_url, GEOJSON, f"{collection.title} as GeoJSON"),
            link("items", f"{items_url}?f=html", HTML, f"{collection.title} as HTML"),
            *schema_links(collection),
        ],
    }
    if extent is not None:
        data["extent"] = {"spatial": {"bbox": [list(extent)], "crs": ogc_collections.CRS84}}
    return data


def schema_links(collection):
    """Return the links to a collection's schemas and queryables."""
    schema_url = url_for("ogc.collection_schema", collection_id=collection.id, _external=True)
    queryables_url = url_for("ogc.queryables", collection_id=collection.id, _external=True)
    media_type = ogc_schemas.SCHEMA_MEDIA_TYPE
    return [
        link("describedby", schema_url, media_type, f"The schema of {collection.title}"),
        # GDAL 3.6 reads this rel only, spelt so, and wants the schema of a GeoJSON Feature.
        link(
            "describedBy",
            f"{schema_url}?profile=feature",
            media_type,
            f"The schema of one GeoJSON Feature of {collection.title}",
        ),
        link(QUERYABLES_REL, queryables_url, media_type, f"The queryables of {collection.title}"),
    ]


def schema_response(data):
    """Answer a JSON Schema document (its query, with `f=json` only, checked already)."""
    return Response(openapi.to_json(data), mimetype=ogc_schemas.SCHEMA_MEDIA_TYPE)


@ogc.get("")
@ogc.get("/")
def landing():
    """The landing page: what this service is and where its parts are."""
    data = {
        "title": "Community Mapper",
        "description": (
            "Community groups, services and electoral wards as OGC API – Features "
            "collections, for QGIS, ArcGIS and other GIS clients."
        ),
        "links": [
            *self_links("ogc.landing"),
            link(
                "service-desc",
                url_for("ogc.api_document", _external=True),
                OPENAPI_MIMETYPE,
                "The API definition (OpenAPI 3.0)",
            ),
            link(
                "service-doc",
                url_for("apidocs.page", _external=True),
                HTML,
                "The API documentation",
            ),
            link(
                "conformance",
                url_for("ogc.conformance", _external=True),
                JSON,
                "The conformance classes this API implements",
            ),
            link(
                "data",
                url_for("ogc.collections", _external=True),
                JSON,
                "The feature collections",
            ),
        ],
    }
    return answer(data, "ogc/landing.html")


@ogc.get("/<path:path>/", strict_slashes=False)
def without_trailing_slash(path):
    """Redirect an OGC path with a trailing slash to the path without it (308, query kept)."""
    if not request.path.endswith("/"):
        raise NotFound(f"There is no resource at {request.path}.")
    query = request.query_string.decode()
    target = request.path.rstrip("/") + (f"?{query}" if query else "")
    return redirect(target, code=308)


@ogc.get("/api")
def api_document():
    """The OpenAPI 3.0 definition of the service (the landing page's service-desc); as HTML
    (`f=html`, or a browser's Accept) the page that presents it, as /api/ does."""
    if output_format() == "html":
        spec = openapi.document(request.url_root)
        operations = list(openapi.operations(spec))
        return render_template("openapi.html", spec=spec, operations=operations)
    spec = openapi.document(request.url_root, queries.category_slugs(get_session()))
    return Response(openapi.to_json(spec), mimetype=OPENAPI_MIMETYPE)


@ogc.get("/conformance")
def conformance():
    """The conformance classes this service implements."""
    data = {"links": self_links("ogc.conformance"), "conformsTo": CONFORMANCE}
    return answer(data, "ogc/conformance.html")


@ogc.get("/collections")
def collections():
    """Every collection with its extent and links."""
    session = get_session()
    data = {
        "links": self_links("ogc.collections"),
        "collections": [
            collection_description(c, session) for c in ogc_collections.COLLECTIONS.values()
        ],
    }
    return answer(data, "ogc/collections.html")


@ogc.get("/collections/<collection_id>")
def collection(collection_id):
    """One collection's description."""
    found = get_collection(collection_id)
    data = collection_description(found, get_session())
    data["links"] = self_links("ogc.collection", collection_id=found.id) + data["links"]
    return answer(data, "ogc/collection.html", filters=found.filters)


@ogc.get("/collections/<collection_id>/schema")
def collection_schema(collection_id):
    """The Part 5 schema of a collection, or with `profile=feature` that of one Feature."""
    found = get_collection(collection_id)
    profile = parse(ogc_inputs.SchemaQuery, request.args, "the schema").profile
    url = url_for("ogc.collection_schema", collection_id=found.id, _external=True)
    if profile == "feature":
        return schema_response(ogc_schemas.feature_schema(found, f"{url}?profile=feature"))
    return schema_response(ogc_schemas.schema(found, url))


@ogc.get("/collections/<collection_id>/queryables")
def queryables(collection_id):
    """The Part 3 queryables of a collection: the property filters of its items."""
    found = get_collection(collection_id)
    parse(ogc_inputs.QueryablesQuery, request.args, "the queryables")
    url = url_for("ogc.queryables", collection_id=found.id, _external=True)
    categories = queries.category_slugs(get_session()) if "category" in found.filters else ()
    return schema_response(ogc_schemas.queryables(found, url, categories))


def analysis_query(collection, args):
    """Return the query parameters of `args` that set the collection's analysis (gaps)."""
    return MultiDict([(k, v) for k, v in args.items(multi=True) if k in collection.parameters])


def read(call, *args, **kwargs):
    """Call into the collection, turning the analysis's unknown codes into a 400."""
    try:
        return call(*args, **kwargs)
    except analysis.UnknownValues as error:
        raise params.unknown_values(error) from None


def refuse_unknown(args, allowed, what):
    """Raise a 400 naming the first parameter of `args` that is not `allowed`."""
    for name in args:
        if name not in allowed:
            raise params.bad(
                name, f"unknown parameter; {what} accepts {', '.join(sorted(allowed))}"
            )


def parse_bbox(query):
    """Return the query's `bbox` as a tuple of lon/lat boxes (two if it crosses the
    antimeridian).

    In CRS84 unless `bbox-crs` says EPSG:4326 (lat/lon order) or EPSG:27700 (then the box is
    one lon/lat polygon, the rectangle in British National Grid).

    Four numbers or six (min_lon,min_lat,min_height,max_lon,max_lat,max_height; the heights
    are ignored, the features having none). A min_lon above max_lon crosses the antimeridian.
    """
    values = query.bbox
    if values is None:
        return ()
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    crs = query.bbox_crs or ogc_crs.CRS84
    if crs == ogc_crs.EPSG_27700:
        return (ogc_crs.lonlat_area(values, crs),)
    if crs == ogc_crs.EPSG_4326:
        values = ogc_crs.lonlat_area(values, crs)
    min_lon, min_lat, max_lon, max_lat = values
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise params.bad("bbox", "must be lon/lat in WGS84 (CRS84) with min_lat before max_lat")
    if min_lon > max_lon:
        return ((min_lon, min_lat, 180.0, max_lat), (-180.0, min_lat, max_lon, max_lat))
    return ((min_lon, min_lat, max_lon, max_lat),)


def parse(model, args, what):
    """Return `model` made from `args`; a 400 names an unknown parameter or one at fault."""
    refuse_unknown(args, {f.alias or name for name, f in model.model_fields.items()}, what)
    bbox = params.once(args, "bbox")  # one value, whose every number is there ("1,2,3,4," is not)
    if bbox is not None and not all(v.strip() for v in bbox.split(",")):
        raise params.bad("bbox", ogc_inputs.BBOX_HELP)
    return parse_query(model, args)


def parse_items_query(collection, args):
    """Return (boxes, filters, after, limit, crs) from the items query (ogc_inputs)."""
    query = parse(ogc_inputs.items_query(collection.id), args, collection.id)
    filters = {name: getattr(query, name) for name in collection.filters if getattr(query, name)}
    if collection.parameters:
        filters["analysis"] = query.filters()
    after = None if query.after is None else collection.parse_key(str(query.after))
    return parse_bbox(query), filters, after, query.limit, query.crs or ogc_crs.CRS84


def answer_in(crs, data, template, **context):
    """Answer a feature or features as `answer` does, GeoJSON in `crs` (Part 2) with its
    Content-Crs header and, outside CRS84, the `crs` member that GDAL's GeoJSON reader reads;
    a page shows the properties only, so it ignores `crs`."""
    if output_format() == "html":
        return answer(data, template, GEOJSON, **context)
    ogc_crs.reproject(data.get("features", [data]), crs)
    if crs != ogc_crs.CRS84:
        data["crs"] = {"type": "name", "properties": {"name": ogc_crs.URNS[crs]}}
    response = answer(data, template, GEOJSON, **context)
    response.headers["Content-Crs"] = ogc_crs.header(crs)
    return response


@ogc.get("/collections/<collection_id>/items")
def items(collection_id):
    """A page of a collection's features, filtered, with next links."""
    found = get_collection(collection_id)
    lonlat_boxes, filters, after, limit, crs = parse_items_query(found, request.args)
    page = read(found.items, get_session(), lonlat_boxes, filters, after, limit)
    query = request.args.to_dict(flat=False)
    query.pop("f", None)
    links = self_links("ogc.items", GEOJSON, collection_id=found.id, **query)
    if page.next_after is not None:
        query.update(after=[str(page.next_after)], limit=[str(limit)])
        query["f"] = [output_format()]
        media_type = GEOJSON if output_format() == "json" else HTML
        href = url_for("ogc.items", collection_id=found.id, _external=True, **query)
        links.append(link("next", href, media_type, "The next page"))
    links.append(
        link(
            "collection",
            url_for("ogc.collection", collection_id=found.id, _external=True),
            JSON,
            found.title,
        )
    )
    data = {
        "type": "FeatureCollection",
        "numberMatched": page.number_matched,
        "numberReturned": len(page.features),
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": links,
        "features": page.features,
    }
    item_query = analysis_query(found, request.args).to_dict(flat=False)
    return answer_in(crs, data, "ogc/items.html", collection=found, item_query=item_query)


@ogc.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id, feature_id):
    """One feature of a collection, by its id."""
    found = get_collection(collection_id)
    try:
        key = found.parse_key(feature_id)
    except ValueError:
        key = None
    parsed = parse(ogc_inputs.item_query(found.id), request.args, f"an item of {found.id}")
    crs = parsed.crs or ogc_crs.CRS84
    query, extra = {}, {}
    if found.parameters:
        query = analysis_query(found, request.args).to_dict(flat=False)
        extra["analysis_filters"] = parsed.filters()
    feature = read(found.item, get_session(), key, **extra) if key is not None else None
    if feature is None:
        raise NotFound(f"There is no feature '{feature_id}' in {found.id}.")
    feature["links"] = [
        *self_links("ogc.item", GEOJSON, collection_id=found.id, feature_id=feature_id, **query),
        link(
            "collection",
            url_for("ogc.collection", collection_id=found.id, _external=True),
            JSON,
            found.title,
        ),
    ]
    return answer_in(crs, feature, "ogc/item.html", collection=found)
