"""Blueprint `web`: HTML pages, health check and the vendored browser libraries."""

import json
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
    url_for,
)

from mapper import analysis, db, exports, geo, mapdata, maps, params, profiles, queries
from mapper.api import geojson_response
from mapper.db import get_session
from mapper.errors import NotFound
from mapper.models import CommunityGroup, Service

web = Blueprint("web", __name__)


# Filters of the home page: the same query parameters as /gaps.geojson.
FILTERS = {"la": params.codes, "category": params.words, "kind": params.words}
URL_SENTINEL = 987654321
# Longer descriptions are shortened on the page (the API has them whole), so that the page
# stays small whatever was typed in.
DESCRIPTION_LIMIT = 5000


def url_template(endpoint, name):
    """Return the URL of `endpoint` with `{id}` where its variable `name` goes."""
    return url_for(endpoint, **{name: URL_SENTINEL}).replace(str(URL_SENTINEL), "{id}")


def marker_options():
    """The URL templates the map's popups and links use, and the categories' names."""
    return {
        "group_detail": url_template("api.get_group", "group_id"),
        "group_page": url_template("web.group_page", "group_id"),
        "service_detail": url_template("web.map_service", "service_id"),
        "ward_page": url_template("web.ward_page", "code"),
        "category_names": mapdata.category_names(get_session()),
    }


def render_map_page(template, parts, **context):
    scripts, styles = maps.map_assets()
    return render_template(template, scripts=scripts, styles=styles, **parts, **context)


@web.get("/")
def index():
    """The ward map: wards coloured by the gap analysis, layers, filters and the table."""
    filters = {name: parse(request.args, name) for name, parse in FILTERS.items()}
    legends = {
        "activity_class": maps.legend(maps.ACTIVITY_CLASSES),
        "priority": maps.legend(maps.PRIORITIES),
    }
    config = current_app.config
    parts = maps.home_map(
        config["TILE_URL"],
        config["TILE_ATTRIBUTION"],
        wards_url=url_for("web.map_wards"),
        figures_url=url_for("web.map_figures"),
        groups_url=url_for("web.map_groups"),
        services_url=url_for("web.map_services"),
        coverage_url=url_for("web.map_coverage"),
        legends=legends,
        no_data_colour=maps.NO_DATA_COLOUR,
        **marker_options(),
    )
    query = [(name, value) for name, values in filters.items() for value in values]
    return render_map_page(
        "index.html",
        parts,
        filters=filters,
        choices=filter_choices(),
        downloads=download_links(query),
        legends=legends,
    )


def filter_choices():
    """The filters' choices; a kind the `kind` parameter could not carry is not offered."""
    choices = mapdata.filter_choices(get_session())
    choices["kind"] = [(value, text) for value, text in choices["kind"] if params.is_word(value)]
    return choices


def download_links(query):
    """Return [(label, base URL, URL with the query)] of the gap analysis downloads."""
    links = []
    for label, extension in (("GeoJSON", "geojson"), ("CSV", "csv")):
        base = url_for("web.gaps_download", extension=extension)
        links.append((label, base, f"{base}?{urlencode(query)}" if query else base))
    return links


@web.get("/healthz")
def healthz():
    """200 with the database's status, 503 when it cannot be reached."""
    try:
        status = db.database_status(db.get_db().engine)
    except Exception as error:  # noqa: BLE001 - any failure means "unavailable"
        current_app.logger.warning("health check failed: %s", error)
        return jsonify({"status": "unavailable", "database": {"error": type(error).__name__}}), 503
    return jsonify({"status": "ok", "database": status})


@web.get("/vendor/<name>/<path:filename>")
def vendor(name, filename):
    """Serve Leaflet and its plugins from their xstatic packages."""
    if name not in maps.VENDOR_DIRS:
        raise NotFound(f"No vendored library called {name}.")
    return send_from_directory(maps.VENDOR_DIRS[name], filename, max_age=86400)


def gap_frame(filters):
    """Return compute_gaps of the filters; unknown codes or slugs are a 400 naming the filter."""
    try:
        return analysis.compute_gaps(get_session(), **filters)
    except analysis.UnknownValues as error:
        raise params.unknown_values(error) from None


@web.get("/gaps.<any(geojson, csv):extension>")
def gaps_download(extension):
    """The gap analysis as GeoJSON (RFC 7946, with metadata) or CSV, one row per ward."""
    frame = gap_frame(params.gap_filters(request.args))
    if extension == "geojson":
        data = exports.gaps_geojson(frame, current_app.config["BOUNDARY_ATTRIBUTION"])
        body, mimetype = exports.geojson_text(data), exports.GEOJSON_MIMETYPE
    else:
        body, mimetype = exports.gaps_csv(frame), exports.CSV_MIMETYPE
    filename = exports.gaps_filename(frame.attrs["metadata"], extension)
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def compact_json(data):
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Response(body, mimetype="application/json")


@web.get("/map/wards.geojson")
def map_wards():
    """Current wards simplified for display (neighbours still meet), by `la`, `ward`, `bbox`."""
    args = request.args
    features = mapdata.display_wards(
        get_session(),
        la_codes=params.codes(args, "la"),
        codes=params.codes(args, "ward"),
        lonlat_box=params.bbox(args),
    )
    return geojson_response(exports.feature_collection(features))


MARKER_FIELDS = ["id", "lon", "lat", "name"]


def marker_scope(args):
    """Parse the filters every marker layer takes: la, ward, category, bbox."""
    return {
        "la_codes": params.codes(args, "la"),
        "ward_codes": params.codes(args, "ward"),
        "categories": params.words(args, "category"),
        "lonlat_box": params.bbox(args),
    }


@web.get("/map/groups.json")
def map_groups():
    """Active groups as compact [id, lon, lat, name] rows for clustered markers."""
    kinds = params.words(request.args, "kind")
    rows = mapdata.group_markers(get_session(), kinds=kinds, **marker_scope(request.args))
    return compact_json({"fields": MARKER_FIELDS, "rows": rows})


@web.get("/map/services.json")
def map_services():
    """Active services as compact [id, lon, lat, name] rows."""
    rows = mapdata.service_markers(get_session(), **marker_scope(request.args))
    return compact_json({"fields": MARKER_FIELDS, "rows": rows})


@web.get("/map/services/<int:service_id>.json")
def map_service(service_id):
    """The public fields of one active service, for its popup."""
    service = mapdata.public_service(get_session(), service_id)
    if service is None:
        raise NotFound(f"There is no public service {service_id}.")
    return compact_json(exports.service_properties(service))


@web.get("/map/coverage.geojson")
def map_coverage():
    """The area inside any coordinator's patch, near the wards in scope: no names, no contacts."""
    args = request.args
    session = get_session()
    lonlat_box = params.bbox(args) or mapdata.scope_box(
        session, la_codes=params.codes(args, "la"), codes=params.codes(args, "ward")
    )
    geom = mapdata.coverage(session, lonlat_box) if lonlat_box else None
    features = [] if geom is None else [exports.feature(geom, {"covered": True})]
    return geojson_response(exports.feature_collection(features))


@web.get("/groups/<int:group_id>")
def group_page(group_id):
    """A group's public page: active groups only."""
    group = get_session().get(CommunityGroup, group_id)
    if group is None or group.status != "active":
        raise NotFound(f"There is no public group {group_id}.")
    config = current_app.config
    parts = maps.group_map(
        config["TILE_URL"],
        config["TILE_ATTRIBUTION"],
        group_url=url_for("api.get_group", group_id=group.id),
        wards_url=url_for("web.map_wards", ward=group.ward.code) if group.ward else None,
    )
    properties = exports.group_properties(group)
    return render_map_page(
        "group.html",
        parts,
        group=properties,
        categories=[c.name for c in group.categories],
        website_is_link=(properties["website"] or "").lower().startswith(("http://", "https://")),
        description_limit=DESCRIPTION_LIMIT,
    )


@web.get("/wards/<code>")
def ward_page(code):
    """A ward's profile: its figures, groups and services, and the groups just over its edge."""
    session = get_session()
    found = (
        queries.wards(session, codes=[code.upper()]) if params.GSS_CODE.match(code.upper()) else []
    )
    if not found:
        raise NotFound(f"There is no current ward {code}.")
    ward, geom = found[0]
    near_box = ",".join(f"{v:.6f}" for v in geo.expand_box(geom.bounds, mapdata.NEARBY_METRES))
    config = current_app.config
    parts = maps.ward_map(
        config["TILE_URL"],
        config["TILE_ATTRIBUTION"],
        ward_code=ward.code,
        wards_url=url_for("web.map_wards", bbox=near_box),
        groups_url=url_for("web.map_groups", bbox=near_box),
        services_url=url_for("web.map_services", bbox=near_box),
        **marker_options(),
    )
    scope = {"la_codes": [ward.la_code]} if ward.la_code else {"ward_codes": [ward.code]}
    rows = exports.gap_records(analysis.compute_gaps(session, **scope))
    (row,) = [r for r in rows if r["ward_code"] == ward.code]
    names = mapdata.category_names(session)
    group_count, groups = mapdata.listed(session, CommunityGroup, ward)
    service_count, services = mapdata.listed(session, Service, ward)
    nearby = mapdata.nearby_groups(session, ward, geom)
    return render_map_page(
        "ward.html",
        parts,
        ward=ward,
        groups=groups,
        group_count=group_count,
        services=services,
        service_count=service_count,
        nearby=nearby[: mapdata.LIST_LIMIT],
        nearby_count=len(nearby),
        nearby_metres=mapdata.NEARBY_METRES,
        downloads=download_links([("ward", ward.code)]),
        figures=profiles.figures(
            row, rows, ward.la_name or ward.la_code or "scope", maps.classes_by_value()
        ),
        categories_present=[names.get(slug, slug) for slug in row["categories_present"]],
        categories_missing=[names.get(slug, slug) for slug in row["categories_missing"]],
    )


@web.get("/map/figures.json")
def map_figures():
    """The gap analysis without geometry, for the map's colours and the table: the same
    parameters as /gaps.geojson."""
    frame = gap_frame(params.gap_filters(request.args))
    return compact_json({"wards": exports.gap_records(frame)})
