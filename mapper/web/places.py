"""Blueprint `places`: find a place (a page that works without scripts, and its JSON), and
where the maps write ward names."""

from flask import Blueprint, render_template, request, url_for
from sqlalchemy import func, select

from mapper.core import places
from mapper.errors import Invalid
from mapper.http import params
from mapper.http.responses import compact_json
from mapper.store import db
from mapper.store.db import get_session
from mapper.store.models import Ward

places_pages = Blueprint("places", __name__)

# More wards than this in one view are too many to name: the map is zoomed too far out.
LABEL_LIMIT = 400
LABEL_FIELDS = ["ward_code", "ward_name", "lon", "lat", "area_km2"]


def _query():
    """Return the one `q` parameter (a 400 when repeated), or an empty string."""
    params.only(request.args, "q")
    return params.once(request.args, "q") or ""


@places_pages.get("/search")
def search_page():
    """The matches of `q` as links: wards, local authorities and groups (no script needed)."""
    text = _query()
    try:
        found = places.find_places(get_session(), text)
    except Invalid as error:
        context = {"query": text, "error": error.message, "reason": error.fields.get("q")}
        return render_template("search.html", found=None, styles=_styles(), **context), 422
    return render_template(
        "search.html", found=found, query=found.query, error=None, styles=_styles()
    )


def _styles():
    return [url_for("static", filename="css/forms.css")]


@places_pages.get("/map/search.json")
def search_json():
    """The matches of `q`, the best first, for the maps' search boxes."""
    found = places.find_places(get_session(), _query())
    return compact_json(found.as_json())


@places_pages.get("/map/ward-labels.json")
def ward_labels():
    """Where to write each current ward's name (its label point), by `la` and `bbox`:
    {"fields", "rows"}, no rows when the view holds more than LABEL_LIMIT wards."""
    params.only(request.args, "la", "bbox")
    la_codes, lonlat_box = params.codes(request.args, "la"), params.bbox(request.args)
    session = get_session()
    query = select(
        Ward.code,
        Ward.name,
        func.ST_X(Ward.label_point),
        func.ST_Y(Ward.label_point),
        Ward.area_km2,
    ).where(Ward.current)
    if la_codes:
        query = query.where(Ward.la_code.in_(la_codes))
    if lonlat_box:
        query = query.where(db.bbox_filter(Ward.label_point, lonlat_box, session))
    rows = session.execute(query.order_by(Ward.area_km2.desc(), Ward.code).limit(LABEL_LIMIT + 1))
    rows = [[code, name, round(lon, 6), round(lat, 6), area] for code, name, lon, lat, area in rows]
    too_many = len(rows) > LABEL_LIMIT
    return compact_json({"fields": LABEL_FIELDS, "rows": [] if too_many else rows})


def init_app(app):
    """Register the search page and the maps' place data."""
    app.register_blueprint(places_pages)
