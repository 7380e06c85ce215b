"""Blueprint `web`: HTML pages, health check and the vendored browser libraries."""

from urllib.parse import urlencode

from flask import (
    Blueprint,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
    url_for,
)

from mapper import geo
from mapper.core import analysis, decisions, group_input, groups, notes, profiles, reach
from mapper.errors import Invalid, NotFound
from mapper.http import gap_inputs, params
from mapper.http.auth import current_user
from mapper.http.responses import compact_json, download, geojson_response
from mapper.io import exports
from mapper.store import db, queries
from mapper.store.db import get_session
from mapper.store.models import CommunityGroup, Service
from mapper.web import form_errors, mapdata, maps, viewport
from mapper.web.decisions import ACTIONS as DECISION_ACTIONS

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
        "service_page": url_template("services.service_page", "service_id"),
        "ward_page": url_template("web.ward_page", "code"),
        "category_names": mapdata.category_names(get_session()),
    }


def render_map_page(template, parts, **context):
    """Render a page that holds a map, with the map's scripts and styles."""
    scripts, styles = maps.map_assets()
    styles = [*styles, *context.pop("extra_styles", [])]
    return render_template(template, scripts=scripts, styles=styles, **parts, **context)


@web.get("/")
def index():
    """The ward map: wards coloured by the gap analysis, layers, filters and the table."""
    filters = {name: parse(request.args, name) for name, parse in FILTERS.items()}
    legends = {
        "activity_class": maps.legend(maps.ACTIVITY_CLASSES),
        "priority": maps.legend(maps.PRIORITIES),
        "reach": maps.legend(maps.REACH_CLASSES),
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
        box_url=url_for("web.map_box"),
        home_box=viewport.home_box(get_session(), config["MAP_HOME"], filters["la"]),
        canvas_wards=viewport.CANVAS_WARDS,
        decisions_url=url_for("decisions.map_decisions"),
        decision_page=url_template("decisions.decision_page", "decision_id"),
        notes_url=url_for("notes.map_notes"),
        note_page=url_template("notes.note_page", "note_id"),
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
        reach_layers=reach_layers(),
        reach_metres=current_app.config["REACH_METRES"],
    )


def reach_layers():
    """Return [(analysis column, label)] of the map's reach layers: the core categories on
    average, then each core category."""
    names = mapdata.category_names(get_session())
    return [("reach_core", "Core categories, on average")] + [
        (reach.column_name(slug), names.get(slug, slug)) for slug in analysis.CORE_CATEGORIES
    ]


def filter_choices():
    """The filters' choices; a kind the `kind` parameter could not carry is not offered."""
    choices = mapdata.filter_choices(get_session())
    choices["kind"] = [(value, text) for value, text in choices["kind"] if params.is_word(value)]
    return choices


def download_links(query):
    """Return [(label, base URL, URL with the query)] of the gap analysis downloads: every
    format, and the GeoPackage in British National Grid too."""
    offered = [(label, extension, {}) for extension, label in exports.FORMAT_LABELS.items()]
    offered.append(("GeoPackage, British National Grid", "gpkg", {"crs": "EPSG:27700"}))
    links = []
    for label, extension, crs in offered:
        base = url_for("web.gaps_download", extension=extension, **crs)
        joined = "&" if crs else "?"
        links.append((label, base, f"{base}{joined}{urlencode(query)}" if query else base))
    return links


@web.get("/healthz")
def healthz():
    """200 with the database's status, 503 when it cannot be reached or is too slow."""
    try:
        status = db.get_db().status_within(current_app.config["HEALTH_TIMEOUT"])
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


@web.get(f"/gaps.<any({', '.join(exports.GAP_FORMATS)}):extension>")
def gaps_download(extension):
    """The gap analysis, one row per ward: GeoJSON (RFC 7946, with metadata), CSV, GeoPackage,
    zipped Shapefile or XLSX; `crs=EPSG:27700` for British National Grid."""
    query = gap_inputs.parse_gap_query(request.args, gap_inputs.GapDownloadQuery)
    frame, srid = gap_frame(query.filters()), query.srid
    filename = exports.gaps_filename(frame.attrs["metadata"], extension)
    attribution = current_app.config["BOUNDARY_ATTRIBUTION"]
    return download(frame, extension, attribution, filename, srid=srid)


def zoom(args):
    """Return the map's `zoom` (a whole number 0-22), or None when not given."""
    return params.integer(args, "zoom", None, minimum=0, maximum=viewport.MAX_ZOOM)


@web.get("/map/wards.geojson")
def map_wards():
    """Current wards simplified for display (neighbours still meet), by `la`, `ward`, `bbox`;
    with `zoom`, at that zoom's detail (wards whose box meets `bbox`)."""
    args = request.args
    scope = {
        "la_codes": params.codes(args, "la"),
        "codes": params.codes(args, "ward"),
        "lonlat_box": params.bbox(args),
    }
    level = zoom(args)
    if level is None:
        features = mapdata.display_wards(get_session(), **scope)
    else:
        features = viewport.wards_in_view(get_session(), level, **scope)
    return geojson_response(exports.feature_collection(features))


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
    scope, level = marker_scope(request.args), zoom(request.args)
    if level is not None:
        where = [CommunityGroup.kind.in_(kinds)] if kinds else []
        return compact_json(in_view(CommunityGroup, level, scope, where))
    rows = mapdata.group_markers(get_session(), kinds=kinds, **scope)
    return compact_json({"fields": mapdata.MARKER_FIELDS, "rows": rows})


def in_view(model, level, scope, where=()):
    """The answer of a marker layer with `zoom`: rows, or clusters past the budget."""
    box = scope.pop("lonlat_box")
    return viewport.markers_in_view(get_session(), model, level, box, scope, where)


@web.get("/map/services.json")
def map_services():
    """Active services as compact [id, lon, lat, name] rows (with `zoom`: as groups.json)."""
    scope, level = marker_scope(request.args), zoom(request.args)
    if level is not None:
        return compact_json(in_view(Service, level, scope))
    rows = mapdata.service_markers(get_session(), **marker_scope(request.args))
    return compact_json({"fields": mapdata.MARKER_FIELDS, "rows": rows})


@web.get("/map/services/<int:service_id>.json")
def map_service(service_id):
    """The public fields of one active service, for its popup."""
    service = mapdata.public_service(get_session(), service_id)
    if service is None:
        raise NotFound(f"There is no public service {service_id}.")
    return compact_json(exports.service_properties(service))


@web.get("/map/place.json")
def map_place():
    """Where a group with this `postcode` (or `lon` and `lat`) would be, and its ward."""
    data = {key: request.args.get(key, "") for key in ("postcode", "lon", "lat")}
    try:
        lonlat, ward = group_input.place_of(get_session(), data)
    except Invalid as error:
        fields = {
            field: form_errors.message(field, reason) for field, reason in error.fields.items()
        }
        raise Invalid(next(iter(fields.values())), fields=fields) from None
    return compact_json({"lonlat": lonlat, "ward_code": ward.code, "ward_name": ward.name})


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
    group = mapdata.public_group(get_session(), group_id)
    if group is None:
        raise NotFound(f"There is no public group {group_id}.")
    config = current_app.config
    parts = maps.group_map(
        config["TILE_URL"],
        config["TILE_ATTRIBUTION"],
        group_url=url_for("api.get_group", group_id=group.id),
        wards_url=url_for("web.map_wards", ward=group.ward.code) if group.ward else None,
        fit_ward=group.location_precision == "hidden",
    )
    properties = exports.group_properties(group)
    user = current_user()
    return render_map_page(
        "group.html",
        parts,
        group=properties,
        may_edit=user is not None and groups.may_edit(user, group),
        active_from=group.active_from,
        categories=[c.name for c in group.categories],
        website_is_link=(properties["website"] or "").lower().startswith(("http://", "https://")),
        description_limit=DESCRIPTION_LIMIT,
    )


def notes_scope(ward):
    """The notes layer of a ward's map: every note of its local authority (else its own)."""
    return {"la": ward.la_code} if ward.la_code else {"ward": ward.code}


def notes_downloads(ward):
    """Return [(label, URL)] of the partners' downloads of the notes of a ward's authority."""
    return [
        (label, url_for("notes.note_download", extension=ext, **notes_scope(ward)))
        for label, ext in (("GeoJSON", "geojson"), ("CSV", "csv"))
    ]


# The query parameters choosing the page of each list of a ward's page.
WARD_LIST_PAGES = ("groups_page", "serving_page", "nearby_page", "services_page", "notes_page")


def ward_list(param, fetch, per_page=mapdata.LIST_LIMIT):
    """Return one page of a ward page's list, the page chosen by the `param` parameter:
    {count, rows, page, page_count, first, last, param}; `fetch(page)` gives (count, items).
    A page past the last is the last."""
    page = params.integer(request.args, param, 1, minimum=1)
    count, items = fetch(page)
    page_count = max(1, -(-count // per_page))
    if page > page_count:
        page = page_count
        count, items = fetch(page)
    first = (page - 1) * per_page + 1
    return {
        "count": count,
        "rows": items,
        "page": page,
        "page_count": page_count,
        "first": first,
        "last": first + len(items) - 1,
        "param": param,
    }


def in_pages(items, per_page=mapdata.LIST_LIMIT):
    """Return the `fetch` of `ward_list` over a list already in memory."""
    return lambda page: (len(items), items[(page - 1) * per_page : page * per_page])


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
        notes_url=url_for("notes.map_notes", **notes_scope(ward)),
        note_page=url_template("notes.note_page", "note_id"),
        **marker_options(),
    )
    scope = {"la_codes": [ward.la_code]} if ward.la_code else {"ward_codes": [ward.code]}
    frame = analysis.compute_gaps(session, **scope)
    rows = exports.gap_records(frame)
    (row,) = [r for r in rows if r["ward_code"] == ward.code]
    names = mapdata.category_names(session)
    nearby = mapdata.nearby_groups(session, ward, geom)
    lists = {
        "groups": ward_list(
            "groups_page", lambda p: mapdata.listed(session, CommunityGroup, ward, page=p)
        ),
        "serving": ward_list(
            "serving_page", lambda p: mapdata.serving_groups(session, ward, page=p)
        ),
        "nearby": ward_list("nearby_page", in_pages(nearby)),
        "services": ward_list(
            "services_page", lambda p: mapdata.listed(session, Service, ward, page=p)
        ),
    }
    user = current_user()
    recorded = decisions.visible_decisions(session, user, ward_codes=[ward.code])
    notes_in = {f"{k}_codes": [v] for k, v in notes_scope(ward).items()}
    shown_notes = notes.visible_notes(session, user, **notes_in)
    elsewhere = [note for note in shown_notes if note.ward_code != ward.code]
    return render_map_page(
        "ward.html",
        parts,
        ward=ward,
        lists=lists,
        list_args={k: v for k, v in request.args.items() if k in WARD_LIST_PAGES},
        nearby_metres=mapdata.NEARBY_METRES,
        decisions=recorded,
        actions=DECISION_ACTIONS,
        notes=[note for note in shown_notes if note.ward_code == ward.code],
        notes_elsewhere=ward_list("notes_page", in_pages(elsewhere)),
        partner=notes.is_partner(user),
        follows=notes.follows(session, user, ward.code),
        notes_downloads=notes_downloads(ward) if notes.is_partner(user) else [],
        extra_styles=[url_for("static", filename="css/forms.css")]
        if notes.is_partner(user)
        else [],
        downloads=download_links([("ward", ward.code)]),
        figures=profiles.figures(
            row,
            rows,
            ward.la_name or ward.la_code or "scope",
            maps.classes_by_value(),
            analysis.reach_description(frame, names),
        ),
        categories_present=[names.get(slug, slug) for slug in row["categories_present"]],
        categories_missing=[names.get(slug, slug) for slug in row["categories_missing"]],
    )


@web.get("/map/figures.json")
def map_figures():
    """The gap analysis without geometry, for the map's colours and the table: the same
    parameters as /gaps.geojson; `bbox` keeps the wards whose box meets the view; `page`
    (with `per_page` and `sort`, a column, "-" first for descending) pages the table;
    `fields` keeps only these columns (and `ward_code`) of each row, those it has (a
    category's filter leaves out the other categories' reach)."""
    args = request.args.copy()
    lonlat_box = params.bbox(args)
    page = params.integer(args, "page", None, minimum=1)
    per_page = params.integer(args, "per_page", viewport.TABLE_PAGE, minimum=1, maximum=1000)
    sort = params.once(args, "sort") or "ward_name"
    fields = params.words(args, "fields")
    if sort.lstrip("-") not in viewport.TABLE_SORTS:
        raise params.bad("sort", f"must be one of {', '.join(viewport.TABLE_SORTS)}")
    for name in ("bbox", "page", "per_page", "sort", "fields"):
        args.pop(name, None)
    frame = viewport.frame_in_view(gap_frame(gap_inputs.gap_filters(args)), lonlat_box)
    records = exports.gap_records(frame)
    answer = (
        {"wards": records} if page is None else viewport.table_page(records, sort, page, per_page)
    )
    if fields:
        answer["wards"] = viewport.only_fields(answer["wards"], fields)
    return compact_json(answer)


@web.get("/map/box.json")
def map_box():
    """The box the home map opens on for these local authorities (`la`), else the configured
    home area, else the extent of the wards: {"bbox": [min_lon, min_lat, max_lon, max_lat]}."""
    box = viewport.home_box(
        get_session(), current_app.config["MAP_HOME"], params.codes(request.args, "la")
    )
    return compact_json({"bbox": list(box) if box else None})
