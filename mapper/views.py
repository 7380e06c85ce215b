"""Blueprint `web`: HTML pages, health check and the vendored browser libraries."""

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

from mapper import analysis, db, exports, maps, params
from mapper.errors import NotFound

web = Blueprint("web", __name__)


@web.get("/")
def index():
    config = current_app.config
    parts = maps.home_map(
        config["TILE_URL"],
        config["TILE_ATTRIBUTION"],
        wards_url=url_for("api.list_wards"),
        groups_url=url_for("api.list_groups", limit=10_000),
    )
    scripts, styles = maps.map_assets()
    return render_template("index.html", scripts=scripts, styles=styles, **parts)


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


@web.get("/gaps.<any(geojson, csv):extension>")
def gaps_download(extension):
    """The gap analysis as GeoJSON (RFC 7946, with metadata) or CSV, one row per ward."""
    filters = params.gap_filters(request.args)
    try:
        frame = analysis.compute_gaps(db.get_session(), **filters)
    except analysis.UnknownValues as error:
        raise params.unknown_values(error) from None
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
