"""Blueprint `ogc`: OGC API – Features Part 1 (Core, GeoJSON, HTML, OpenAPI 3.0), read-only.

Every resource answers JSON (GeoJSON for features) or an HTML page, chosen by `f=json|html`
or else by the Accept header. The collections and their queries live in `mapper.features`.
"""

import re
from datetime import UTC, datetime

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from mapper import analysis, features, openapi, params
from mapper.api import geojson_response
from mapper.db import get_session
from mapper.errors import NotFound

ogc = Blueprint("ogc", __name__, url_prefix="/ogc")

JSON, GEOJSON, HTML = "application/json", "application/geo+json", "text/html"
OPENAPI_MIMETYPE = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
ITEMS_PARAMETERS = {"f", "bbox", "limit", "after", "datetime"}
# RFC 3339 date or date-time, or an interval of them with ".." for an open end.
INSTANT = r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?"
DATETIME = re.compile(rf"^({INSTANT}|({INSTANT}|\.\.)?/({INSTANT}|\.\.)?)$", re.IGNORECASE)


def output_format():
    """Return 'json' or 'html': the `f` parameter, else the best match for Accept."""
    f = request.args.get("f")
    if f is None:
        best = request.accept_mimetypes.best_match([JSON, GEOJSON, HTML])
        return "html" if best == HTML else "json"
    if f not in ("json", "html"):
        raise params.bad("f", "must be json or html")
    return f


def link(rel, href, media_type, title):
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
    if output_format() == "html":
        return render_template(template, data=data, **context)
    if json_type == GEOJSON:
        return geojson_response(data)
    return jsonify(data)


def get_collection(collection_id):
    collection = features.COLLECTIONS.get(collection_id)
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
        "crs": [features.CRS84],
        "links": [
            link("items", f"{items_url}?f=json", GEOJSON, f"{collection.title} as GeoJSON"),
            link("items", f"{items_url}?f=html", HTML, f"{collection.title} as HTML"),
        ],
    }
    if extent is not None:
        data["extent"] = {"spatial": {"bbox": [list(extent)], "crs": features.CRS84}}
    return data


@ogc.get("")
@ogc.get("/")
def landing():
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


@ogc.get("/api")
def api_document():
    """The OpenAPI 3.0 definition of the service (the landing page's service-desc)."""
    return Response(openapi.to_json(openapi.document(request.url_root)), mimetype=OPENAPI_MIMETYPE)


@ogc.get("/conformance")
def conformance():
    data = {"links": self_links("ogc.conformance"), "conformsTo": CONFORMANCE}
    return answer(data, "ogc/conformance.html")


@ogc.get("/collections")
def collections():
    session = get_session()
    data = {
        "links": self_links("ogc.collections"),
        "collections": [collection_description(c, session) for c in features.COLLECTIONS.values()],
    }
    return answer(data, "ogc/collections.html")


@ogc.get("/collections/<collection_id>")
def collection(collection_id):
    found = get_collection(collection_id)
    data = collection_description(found, get_session())
    data["links"] = self_links("ogc.collection", collection_id=found.id) + data["links"]
    return answer(data, "ogc/collection.html", filters=found.filters)


def analysis_query(collection, args):
    """Return the query parameters of `args` that set the collection's analysis (gaps)."""
    return MultiDict([(k, v) for k, v in args.items(multi=True) if k in collection.parameters])


def analysis_filters(collection, args):
    """Return compute_gaps's arguments, read as /gaps.geojson reads them."""
    return params.gap_filters(analysis_query(collection, args))


def read(call, *args, **kwargs):
    """Call into the collection, turning the analysis's unknown codes into a 400."""
    try:
        return call(*args, **kwargs)
    except analysis.UnknownValues as error:
        raise params.unknown_values(error) from None


def refuse_unknown(args, allowed, what):
    for name in args:
        if name not in allowed:
            raise params.bad(
                name, f"unknown parameter; {what} accepts {', '.join(sorted(allowed))}"
            )


def parse_items_query(collection, args):
    """Return (bbox, filters, after, limit) from the items query; unknown names are a 400."""
    allowed = ITEMS_PARAMETERS | set(collection.filters) | set(collection.parameters)
    refuse_unknown(args, allowed, collection.id)
    datetime_value = args.get("datetime")
    if datetime_value is not None and not DATETIME.match(datetime_value):
        raise params.bad(
            "datetime", "expected an RFC 3339 date-time or an interval such as 2024-01-01/.."
        )
    filters = {}
    for name in collection.filters:
        values = params.words(args, name) if name == "category" else params.codes(args, name)
        if values:
            filters[name] = values
    if collection.parameters:
        filters["analysis"] = analysis_filters(collection, args)
    after = args.get("after")
    if after is not None:
        try:
            after = collection.parse_key(after)
        except ValueError:
            raise params.bad("after", f"'{after}' is not a key of {collection.id}") from None
    limit = params.integer(
        args, "limit", features.DEFAULT_LIMIT, minimum=1, maximum=features.MAX_LIMIT, cap=True
    )
    return params.bbox(args), filters, after, limit


@ogc.get("/collections/<collection_id>/items")
def items(collection_id):
    found = get_collection(collection_id)
    lonlat_box, filters, after, limit = parse_items_query(found, request.args)
    page = read(found.items, get_session(), lonlat_box, filters, after, limit)
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
    return answer(data, "ogc/items.html", GEOJSON, collection=found, item_query=item_query)


@ogc.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id, feature_id):
    found = get_collection(collection_id)
    try:
        key = found.parse_key(feature_id)
    except ValueError:
        key = None
    refuse_unknown(request.args, {"f", *found.parameters}, f"an item of {found.id}")
    query, extra = {}, {}
    if found.parameters:
        query = analysis_query(found, request.args).to_dict(flat=False)
        extra["analysis_filters"] = analysis_filters(found, request.args)
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
    return answer(feature, "ogc/item.html", GEOJSON, collection=found)
