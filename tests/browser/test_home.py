"""The home page's gap map in a real headless Chromium: choropleth, filters, layers, table."""

import pytest
from shapely.geometry import MultiPolygon, box

from mapper.store import db
from mapper.store.models import Coordinator
from mapper.web import maps
from tests.browser.test_pages import XSS, assert_clean, open_page, serious_accessibility_violations
from tests.factories import make_group, make_service, make_wards

pytestmark = pytest.mark.browser

COLOURS = {colour: value for value, _, colour, _ in maps.ACTIVITY_CLASSES}


def borough(session):
    """Three wards of one authority and one of another; food in the west, arts in the east."""
    make_wards(
        session,
        {
            "E05000001": (XSS, box(-2.1, 53.4, -2.0, 53.5)),
            "E05000002": ("Eastfield", box(-2.0, 53.4, -1.9, 53.5)),
            "E05000003": ("Northmoor", box(-2.1, 53.5, -1.9, 53.6)),
        },
        la_name="Testshire",
    )
    make_wards(
        session, {"E05000004": ("Elsewhere", box(0.0, 51.0, 0.1, 51.1))}, la_code="E08000098"
    )
    for i in range(6):
        make_group(session, f"Food {i}", (-2.09 + i / 100, 53.45), categories=["food-support"])
    for i in range(3):
        make_group(session, f"Arts {i}", (-1.99 + i / 100, 53.45), categories=["arts-culture"])
    make_group(session, XSS, (-2.05, 53.47), categories=["food-support"])
    make_service(session, "Library", (-1.95, 53.55))
    session.add(
        Coordinator(
            name="Alice Example",
            email="alice@council.example",
            patch=db.to_wkb_element(MultiPolygon([box(-2.1, 53.4, -2.0, 53.5)])),
        )
    )
    session.commit()


def popup_heading(p, text):
    """Wait until the one open popup's heading is `text` (a closing popup fades out first)."""
    p.wait_for_function(
        "text => { const h = document.querySelectorAll('.leaflet-popup-content h2');"
        " return h.length === 1 && h[0].textContent === text; }",
        arg=text,
    )
    return p.locator(".leaflet-popup-content")


def ward_fills(p):
    """Return {ward name: fill colour} of the wards drawn on the map."""
    return p.evaluate(
        """() => {
          const fills = {};
          document.querySelectorAll("path.leaflet-interactive[data-ward]").forEach(path => {
            fills[path.getAttribute("data-ward")] = path.getAttribute("fill");
          });
          return fills;
        }"""
    )


@pytest.mark.both_backends
def test_home_page_draws_one_polygon_per_ward_in_scope(live_server, page, session, backend):
    borough(session)
    p = page.page
    open_page(page, live_server + "/?la=E08000099")
    assert p.locator("path.leaflet-interactive[data-ward]").count() == 3
    assert p.locator(".marker-cluster, .leaflet-marker-icon").count() >= 1
    assert p.locator("#ward-table tbody tr").count() == 3
    assert set(ward_fills(p).values()) <= set(COLOURS)
    page.screenshot(f"home-{backend}")

    open_page(page, live_server + "/")
    assert p.locator("path.leaflet-interactive[data-ward]").count() == 4
    assert p.locator("#ward-table tbody tr").count() == 4
    assert_clean(page)


def test_the_map_is_loaded_only_once_the_ward_table_is_filled(live_server, page, session):
    """The table's page of figures is fetched beside the view's: `data-loaded` waits for both."""
    borough(session)
    p = page.page
    held = []
    p.route(lambda url: "figures.json" in url and "page=" in url, lambda r: held.append(r))
    view = ("/map/figures.json", "/map/groups.json", "/map/services.json", "/map/wards.geojson")
    seen = set()
    p.on("response", lambda r: seen.update(v for v in view if v in r.url and "bbox=" in r.url))
    p.goto(live_server + "/?la=E08000099")
    p.locator("path.leaflet-interactive[data-ward]").nth(2).wait_for()
    while seen != set(view):
        p.wait_for_timeout(50)
    p.wait_for_timeout(250)  # the view's answers are drawn: the map must still be loading
    assert p.get_attribute(".folium-map", "data-loaded") == "false"
    assert len(held) == 1
    held[0].continue_()
    p.wait_for_selector(".folium-map[data-loaded=true]")
    assert p.locator("#ward-table tbody tr").count() == 3


def test_clicking_a_ward_shows_its_name_and_figures(live_server, page, session, backend):
    borough(session)
    p = page.page
    open_page(page, live_server + "/?la=E08000099")
    p.get_by_label("Community groups").uncheck()  # nothing over the ward's middle
    p.locator('path.leaflet-interactive[data-ward="E05000002"]').click()
    text = popup_heading(p, "Eastfield").inner_text()
    assert "Groups\n3" in text or "Groups\t3" in text
    assert "Activity" in text and "Priority" in text
    page.screenshot(f"home-ward-popup-{backend}")

    # A ward whose name is markup shows that markup as text.
    p.locator('path.leaflet-interactive[data-ward="E05000001"]').click()
    popup_heading(p, XSS)
    assert p.locator(".leaflet-popup-content img").count() == 0

    # Keyboard users reach a ward's shape with Tab and open it with Enter.
    p.locator('path[data-ward="E05000003"]').focus()
    p.keyboard.press("Enter")
    popup_heading(p, "Northmoor")
    assert_clean(page)


def test_changing_a_filter_changes_the_colouring_and_the_download_links(
    live_server, page, session, backend
):
    borough(session)
    p = page.page
    open_page(page, live_server + "/?la=E08000099")
    before = ward_fills(p)
    assert before["E05000002"] != maps.ACTIVITY_CLASSES[0][2]  # the arts ward has activity

    p.get_by_label("Category of activity").select_option("food-support")
    p.wait_for_selector(".folium-map[data-loaded=true]")
    p.wait_for_function(
        "() => document.querySelector('a[data-download=\"/gaps.geojson\"]')"
        ".href.includes('food-support')"
    )
    after = ward_fills(p)
    assert after["E05000002"] == maps.ACTIVITY_CLASSES[0][2]  # no food groups there: none
    assert after != before
    geojson = p.locator('a[data-download="/gaps.geojson"]').get_attribute("href")
    csv = p.locator('a[data-download="/gaps.csv"]').get_attribute("href")
    assert geojson == "/gaps.geojson?la=E08000099&category=food-support"
    assert csv == "/gaps.csv?la=E08000099&category=food-support"
    # The link leads to the same figures the map shows.
    response = p.request.get(live_server + geojson)
    assert response.ok
    classes = {
        f["properties"]["ward_code"]: f["properties"]["activity_class"]
        for f in response.json()["features"]
    }
    assert {code: COLOURS[fill] for code, fill in after.items()} == classes
    page.screenshot(f"home-filtered-{backend}")
    assert_clean(page)


def test_colour_toggle_layers_and_the_key_work_from_the_keyboard(
    live_server, page, session, backend
):
    borough(session)
    p = page.page
    open_page(page, live_server + "/?la=E08000099")
    activity = ward_fills(p)
    assert p.locator('[data-legend="priority"]').is_hidden()

    p.get_by_label("Priority", exact=True).focus()
    p.keyboard.press("Space")
    assert p.locator('[data-legend="priority"]').is_visible()
    assert p.locator('[data-legend="activity_class"]').is_hidden()
    priorities = {colour for _, _, colour, _ in maps.PRIORITIES} | {maps.NO_DATA_COLOUR}
    assert set(ward_fills(p).values()) <= priorities
    assert ward_fills(p) != activity

    paths = p.locator("path.leaflet-interactive").count()
    p.get_by_label("Services").focus()
    p.keyboard.press("Space")
    p.get_by_label("Coordinator coverage").focus()
    p.keyboard.press("Space")
    assert p.locator("path.leaflet-interactive").count() == paths + 1  # the service's circle
    assert p.locator("path:not(.leaflet-interactive)").count() >= 1  # the coverage patch
    page.screenshot(f"home-layers-{backend}")
    assert "Alice" not in p.content()
    assert_clean(page)


def test_the_ward_table_sorts_from_the_keyboard_and_has_totals(live_server, page, session):
    borough(session)
    p = page.page
    open_page(page, live_server + "/?la=E08000099")

    def column(index):
        return p.locator(f"#ward-table tbody tr > :nth-child({index})").all_inner_texts()

    assert column(1) == sorted(column(1), key=str.lower)
    header = p.locator("#ward-table thead th").nth(2)
    header.get_by_role("button").focus()
    p.keyboard.press("Enter")
    assert header.get_attribute("aria-sort") == "ascending"
    assert column(3) == ["0", "3", "7"]
    p.keyboard.press("Enter")
    assert header.get_attribute("aria-sort") == "descending"
    assert column(3) == ["7", "3", "0"]
    assert p.locator("#ward-table thead th[aria-sort]").count() == 1
    totals = p.locator("#ward-table tfoot tr > *").all_inner_texts()
    assert totals[0] == "All 3 wards" and totals[2] == "10"
    assert_clean(page)


def test_home_page_has_no_serious_accessibility_problems(live_server, page, session, backend):
    borough(session)
    open_page(page, live_server + "/?la=E08000099")
    p = page.page
    assert p.locator("h1").count() == 1
    assert serious_accessibility_violations(p) == []
    assert_clean(page)


def test_a_group_named_like_markup_is_text_on_the_home_page(live_server, page, session, backend):
    borough(session)
    p = page.page
    open_page(page, live_server + "/?la=E08000099")
    # Zoom in on the group (folium names the map `map_<id>`), so that it leaves its cluster.
    p.evaluate(
        "Object.keys(window).filter(k => k.startsWith('map_'))"
        ".forEach(k => window[k].setView([53.47, -2.05], 18, {animate: false}))"
    )
    marker = p.locator(f'img.leaflet-marker-icon[alt="{XSS}"]')
    marker.click()
    assert "Food support" in popup_heading(p, XSS).inner_text()  # the category's name
    assert p.locator(".leaflet-popup-content a").get_attribute("href").startswith("/groups/")
    assert p.locator("main img[src=x]").count() == 0
    page.screenshot(f"home-group-popup-{backend}")
    assert_clean(page)
