"""The home map at scale, in a real headless Chromium: 60,000 groups over the real wards of
Manchester and Trafford, on each backend. The map asks for what is in view only: clusters
counted on the server whose counts are the groups in view, every group of a ward as a marker
once zoomed to it, and a first view's data under its byte budget."""

import threading

import geopandas as gpd
import numpy as np
import pytest
from werkzeug.serving import make_server

from mapper.core.wards import save_wards
from mapper.store import db
from mapper.web import viewport
from tests.browser.test_pages import assert_clean, serious_accessibility_violations
from tests.conftest import (
    BACKENDS,
    ClosedWhenSent,
    make_app,
    new_postgis_database,
)
from tests.factories import bulk_groups
from tests.realdata import MANCHESTER_WARDS, TRAFFORD_WARDS_2017

pytestmark = pytest.mark.browser

# Twelve times the budget of markers, and about 270 groups a square kilometre: the view of
# one ward (zoom 14 here) then holds fewer groups than the budget. (At 100,000 it would not,
# and the ward's view would be clustered too.)
GROUPS = 60_000
FIRST_VIEW_BUDGET = 2_000_000  # bytes of data (JSON, GeoJSON) for the first view
COLUMNS = {"area_code": "code", "area_name": "name"}


def real_wards(geodata):
    """Manchester's May 2023 wards and Trafford's Dec 2017 wards, as save_wards takes them."""
    frames = []
    for path, la_code, la_name in (
        (MANCHESTER_WARDS, "E08000003", "Manchester"),
        (TRAFFORD_WARDS_2017, "E08000009", "Trafford"),
    ):
        frame = gpd.read_file(geodata / path).rename(columns=COLUMNS)[["code", "name", "geometry"]]
        frame["la_code"], frame["la_name"], frame["vintage"] = la_code, la_name, "real"
        frames.append(frame)
    return gpd.GeoDataFrame(
        gpd.pd.concat(frames, ignore_index=True), geometry="geometry", crs="EPSG:4326"
    )


def serve(app):
    server = make_server(
        "127.0.0.1", 0, lambda e, s: ClosedWhenSent(app(e, s)), threaded=True
    )  # fmt: skip
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="module", params=BACKENDS)
def crowded(request, tmp_path_factory, geodata):
    """(base URL, app, group points, wards) of one backend, built once for the module."""
    if request.param == "spatialite":
        url = f"sqlite:///{tmp_path_factory.mktemp('crowded') / 'mapper.sqlite'}"
        context = None
    else:
        context = new_postgis_database("mapper_crowded")
        url = context.__enter__()
    engine = db.make_engine(url)
    db.upgrade_schema(engine)
    engine.dispose()
    app = make_app(url)
    wards = real_wards(geodata)
    with app.app_context():
        session = db.get_session()
        save_wards(session, wards)
        session.commit()
        bulk_groups(session, GROUPS, tuple(wards.total_bounds))
        # As stored (on the database's grid), so that counts in a box are the server's.
        xy = np.array(
            session.execute(
                db.text("SELECT ST_X(geom), ST_Y(geom) FROM community_groups ORDER BY id")
            ).all()
        )
        if request.param == "postgis":
            session.execute(db.text("ANALYZE"))
            session.commit()
    server, thread = serve(app)
    yield f"http://127.0.0.1:{server.server_port}", app, xy, wards
    server.shutdown()
    thread.join()
    app.extensions["mapper.db"].dispose()
    if context is not None:
        context.__exit__(None, None, None)


def loaded(p):
    p.wait_for_selector(".folium-map[data-loaded=true]", timeout=60_000)


def in_box(xy, lonlat_box):
    min_lon, min_lat, max_lon, max_lat = lonlat_box
    x, y = xy[:, 0], xy[:, 1]
    return int(((x >= min_lon) & (x <= max_lon) & (y >= min_lat) & (y <= max_lat)).sum())


def view_box(p):
    return [float(v) for v in p.locator(".folium-map").get_attribute("data-bbox").split(",")]


def move_to(p, lonlat_box, zoom=None):
    """Fit the map (folium names it `map_<id>`) to a box, or centre it on the box at `zoom`,
    and wait for the view to be drawn."""
    p.evaluate(
        "([box, zoom]) => Object.keys(window).filter(k => k.startsWith('map_')).forEach(k =>"
        " zoom ? window[k].setView([(box[1] + box[3]) / 2, (box[0] + box[2]) / 2], zoom,"
        " {animate: false}) : window[k].fitBounds([[box[1], box[0]], [box[3], box[2]]],"
        " {animate: false}))",
        [list(lonlat_box), zoom],
    )
    p.wait_for_selector(".folium-map[data-loaded=false]", state="attached", timeout=5_000)
    loaded(p)


# The bytes of the map's data as sent (compressed) and as decoded, by Resource Timing.
DATA_BYTES = """() => {
  const data = performance.getEntriesByType("resource").filter(e => e.name.includes("/map/"));
  return [data.reduce((n, e) => n + e.encodedBodySize, 0),
          data.reduce((n, e) => n + e.decodedBodySize, 0)];
}"""


def test_the_first_view_is_server_clusters_that_count_every_group_in_view(crowded, page):
    base, _app, xy, _wards = crowded
    sizes, encodings = {}, {}

    def measure(response):
        if "/map/" in response.url:
            sizes[response.url] = len(response.body())
            encodings[response.url.split("?")[0]] = response.headers.get("content-encoding")

    page.page.on("response", measure)
    p = page.page
    p.goto(base + "/")
    loaded(p)
    counts = p.eval_on_selector_all(
        ".server-cluster[data-count]", "nodes => nodes.map(n => Number(n.dataset.count))"
    )
    assert counts and sum(counts) == in_box(xy, view_box(p))
    assert int(p.locator(".folium-map").get_attribute("data-markers")) == 0
    assert sum(sizes.values()) < FIRST_VIEW_BUDGET, sizes
    # On the wire the larger answers are gzipped: a fraction of their decoded size.
    wire, decoded = p.evaluate(DATA_BYTES)
    assert decoded == sum(sizes.values()) and 0 < wire < decoded / 3 < FIRST_VIEW_BUDGET / 3
    assert encodings[base + "/map/wards.geojson"] == encodings[base + "/map/figures.json"] == "gzip"
    # The table still holds every ward in scope, a page at a time.
    assert p.locator("#ward-table tfoot th").inner_text() == "All 53 wards"
    assert page.outside_requests() == []
    assert serious_accessibility_violations(p) == []
    assert_clean(page)


def test_zoomed_to_a_ward_each_of_its_groups_is_a_marker(crowded, page):
    base, app, xy, wards = crowded
    p = page.page
    p.goto(base + "/")
    loaded(p)  # the page is the kept answer now: its script's nonce must still be allowed
    ward = wards[wards["code"] == "E05011372"].iloc[0]  # Manchester's Moss Side, the smallest
    move_to(p, ward.geometry.bounds)
    box = view_box(p)
    west, south, east, north = ward.geometry.bounds
    assert box[0] < west and box[1] < south and east < box[2] and north < box[3]
    assert int(p.locator(".folium-map").get_attribute("data-clusters")) == 0
    drawn = int(p.locator(".folium-map").get_attribute("data-markers"))
    assert drawn == in_box(xy, box) > 0
    with app.app_context():
        session = db.get_session()
        ward_id = session.scalar(
            db.text("SELECT id FROM wards WHERE code = :c AND current"), {"c": ward.code}
        )
        in_ward = session.scalar(
            db.text("SELECT count(*) FROM community_groups WHERE ward_id = :w"), {"w": ward_id}
        )
    assert 0 < in_ward <= drawn  # every group of the ward is among the markers in view
    # Keyboard users still reach a ward's shape and open its figures.
    p.locator(f'path[data-ward="{ward.code}"]').focus()
    p.keyboard.press("Enter")
    p.wait_for_selector(".leaflet-popup-content h2")
    assert ward["name"] in p.locator(".leaflet-popup-content h2").inner_text()
    assert page.outside_requests() == []
    assert_clean(page)


def test_panning_fetches_the_new_view_and_its_counts_still_add_up(crowded, page):
    base, _app, xy, wards = crowded
    p = page.page
    p.goto(base + "/")
    loaded(p)
    west, south, east, north = wards.total_bounds
    move_to(p, (west, south, (west + east) / 2, (south + north) / 2))
    counts = p.eval_on_selector_all(
        ".server-cluster[data-count]", "nodes => nodes.map(n => Number(n.dataset.count))"
    )
    markers = int(p.locator(".folium-map").get_attribute("data-markers"))
    assert sum(counts) + markers == in_box(xy, view_box(p))
    assert np.isclose(view_box(p)[0], west, atol=0.2)
    assert_clean(page)


def test_past_the_canvas_threshold_wards_are_drawn_on_a_canvas_and_the_table_keeps_them(
    crowded, page, monkeypatch
):
    base, _app, _xy, wards = crowded
    monkeypatch.setattr(viewport, "CANVAS_WARDS", 20)  # Manchester's 32 wards are past it
    p = page.page
    p.goto(base + "/?la=E08000003")
    loaded(p)
    assert p.locator(".folium-map").get_attribute("data-ward-renderer") == "canvas"
    assert p.locator("path[data-ward]").count() == 0
    assert p.locator(".leaflet-overlay-pane canvas").count() == 1
    # The table is the keyboard's way to every ward meanwhile.
    assert p.locator("#ward-table tfoot th").inner_text() == "All 32 wards"
    assert p.locator("#ward-table tbody tr").count() == 32
    assert serious_accessibility_violations(p) == []
    # Zoomed in to fewer wards than that, each is a focusable shape again.
    ward = wards[wards["code"] == "E05011372"].iloc[0]
    move_to(p, ward.geometry.bounds)
    assert p.locator(".folium-map").get_attribute("data-ward-renderer") == "svg"
    p.locator(f'path[data-ward="{ward.code}"]').focus()
    p.keyboard.press("Enter")
    p.wait_for_selector(".leaflet-popup-content h2")
    assert ward["name"] in p.locator(".leaflet-popup-content h2").inner_text()
    assert_clean(page)
