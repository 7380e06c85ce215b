"""Find a place, the keyboard and the phone, in a real headless Chromium."""

import pytest
from shapely.geometry import box

from mapper.store.models import Postcode
from tests.browser.test_home import borough, popup_heading
from tests.browser.test_pages import XSS, assert_clean, open_page, serious_accessibility_violations
from tests.conftest import PageWatch
from tests.factories import make_group, make_wards

pytestmark = pytest.mark.browser

MAP = "Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])[0]"


def with_postcode(session):
    """The home page's borough, a postcode in Eastfield and a group with a plain name."""
    borough(session)
    session.add(Postcode(postcode="TS1 1AA", lon=-1.95, lat=53.45))
    session.commit()
    make_group(session, "Northmoor Walkers", (-2.0, 53.55))
    make_wards(
        session,
        {"E05000005": ("Far Ward", box(1.0, 52.0, 1.1, 52.1))},
        la_code="E08000097",
        la_name="Otherton",
    )


def find(p, text):
    """Type `text` in the search box and send it with Enter."""
    p.locator("#place-q").fill(text)
    p.locator("#place-q").press("Enter")


def status(p, expected):
    """Wait until the live region says `expected` (a part of it); return its text."""
    p.wait_for_function(
        "text => document.getElementById('place-status').textContent.includes(text)",
        arg=expected,
    )
    return p.locator("#place-status").inner_text()


def focused_ward(p):
    return p.evaluate("() => document.activeElement.getAttribute('data-ward')")


def wait_for_focus_on_ward(p, code):
    p.wait_for_function(
        "code => document.activeElement"
        " && document.activeElement.getAttribute('data-ward') === code",
        arg=code,
    )


@pytest.mark.both_backends
def test_a_postcode_is_announced_and_its_ward_focused(live_server, page, session, backend):
    with_postcode(session)
    p = page.page
    open_page(page, live_server + "/")
    assert p.locator("#place-status").get_attribute("aria-live") == "polite"
    find(p, "ts1 1aa")
    said = status(p, "Eastfield")
    assert said.startswith("The postcode TS1 1AA is in Eastfield ward, Testshire.")
    assert "press Enter" in said
    wait_for_focus_on_ward(p, "E05000002")
    # The map zoomed to the ward: its box is in view.
    inside = p.evaluate(
        f"() => {MAP}.getBounds().contains(L.latLngBounds([[53.4, -2.0], [53.5, -1.9]]))"
    )
    assert inside

    # Enter moves the focus into the ward's popup, Escape closes it and returns to the ward.
    p.keyboard.press("Enter")
    popup_heading(p, "Eastfield")
    assert p.evaluate("() => document.activeElement.textContent") == "Eastfield"
    assert p.evaluate("() => !!document.activeElement.closest('.leaflet-popup')")
    p.keyboard.press("Escape")
    p.wait_for_function("() => !document.querySelector('.leaflet-popup')")
    assert focused_ward(p) == "E05000002"
    page.screenshot(f"find-postcode-{backend}")
    assert_clean(page)


def test_ward_council_and_group_names_and_bad_input(live_server, page, session):
    with_postcode(session)
    p = page.page
    open_page(page, live_server + "/")
    find(p, "northmoor")
    assert status(p, "Northmoor ward").startswith("Northmoor ward, Testshire.")
    wait_for_focus_on_ward(p, "E05000003")

    find(p, "Arts 1")
    assert status(p, "The group Arts 1").startswith("The group Arts 1 is in Eastfield ward")
    wait_for_focus_on_ward(p, "E05000002")

    find(p, "otherton")
    assert status(p, "show its wards") == (
        "Otherton: its wards are on the map. The map and the table show its wards."
    )
    assert p.locator("#filter-la").input_value() == "E08000097"
    p.wait_for_function("() => document.querySelectorAll('#ward-table tbody tr').length === 1")

    find(p, "TS9 9ZZ")
    assert status(p, "not one we know") == "The postcode TS9 9ZZ is not one we know."
    assert p.evaluate("() => document.activeElement.id") == "place-q"
    find(p, "   ")
    status(p, "Type a postcode")
    find(p, "nowhere at all")
    status(p, "No ward, council or group is called anything like")
    assert_clean(page)


def test_without_scripts_the_search_is_a_page_of_links(browser, live_server, session):
    with_postcode(session)
    context = browser.new_context(java_script_enabled=False)
    try:
        p = context.new_page()
        p.goto(live_server + "/")
        p.locator("#place-q").fill("north")
        p.locator("#place-search button[type=submit]").click()
        p.wait_for_url("**/search?q=north")
        # The ward matched, and the ward of the group that matched.
        assert p.get_by_role("link", name="Northmoor ward").count() == 2
        assert p.get_by_role("link", name="Northmoor Walkers").count() == 1
        p.get_by_role("link", name="Northmoor ward").first.click()
        p.wait_for_url("**/wards/E05000003")
    finally:
        context.close()


def press_until(p, key, done, limit):
    """Press `key` until `done` (a JS function's text) is true; return how many presses."""
    for count in range(1, limit + 1):
        p.keyboard.press(key)
        if p.evaluate(done):
            return count
    raise AssertionError(f"{done} not reached in {limit} presses of {key}")


def test_from_the_top_of_the_home_page_to_a_ward_profile_by_keyboard(live_server, page, session):
    with_postcode(session)
    p = page.page
    open_page(page, live_server + "/")
    presses = press_until(
        p, "Tab", "() => document.activeElement.textContent === 'Skip to the map'", 5
    )
    p.keyboard.press("Enter")
    presses += 1
    presses += press_until(p, "Tab", "() => document.activeElement.hasAttribute('data-ward')", 5)
    p.keyboard.press("Enter")  # the ward's popup, focus in it
    presses += 1
    presses += press_until(
        p, "Tab", "() => document.activeElement.textContent === 'Ward profile'", 4
    )
    p.keyboard.press("Enter")
    presses += 1
    p.wait_for_url("**/wards/E05*")
    assert presses < 15, presses
    assert_clean(page)


def test_skip_links_lead_to_the_table_and_the_downloads(live_server, page, session):
    with_postcode(session)
    p = page.page
    open_page(page, live_server + "/")
    for name, target in (
        ("Skip to the ward table", "ward-figures"),
        ("Skip to the downloads", "downloads"),
    ):
        p.get_by_role("link", name=name).focus()
        p.keyboard.press("Enter")
        p.wait_for_function("id => document.activeElement.id === id", arg=target)
    p.keyboard.press("Tab")
    assert p.evaluate("() => document.activeElement.textContent").startswith("Gap analysis")


def test_clusters_say_how_many_groups_and_near_which_ward(live_server, page, session):
    with_postcode(session)
    p = page.page
    open_page(page, live_server + "/?la=E08000099")
    p.wait_for_function(
        "() => [...document.querySelectorAll('.marker-cluster')]"
        ".some(c => / groups near /.test(c.getAttribute('aria-label') || ''))"
    )
    names = p.evaluate(
        "() => [...document.querySelectorAll('.marker-cluster')]"
        ".map(c => c.getAttribute('aria-label'))"
    )
    wards = ("Eastfield", "Northmoor", "<img src=x onerror=alert(1)>")
    assert names and all(
        any(n.endswith(f"groups near {w}: zoom in") for w in wards) for n in names
    ), names
    # Clusters are drawn in the cluster colour, not one of the ward classes'.
    fill = p.evaluate(
        "() => getComputedStyle(document.querySelector('.marker-cluster div')).backgroundColor"
    )
    assert fill == "rgb(27, 31, 36)"
    # A group's own marker says it is a group.
    p.evaluate(f"() => {MAP}.setView([53.47, -2.05], 18, {{animate: false}})")
    p.wait_for_function(
        "() => [...document.querySelectorAll('img.leaflet-marker-icon')]"
        ".some(m => m.getAttribute('aria-label') === 'Community group: ' + m.alt)"
    )


def test_ward_names_are_written_on_the_map_apart_when_zoomed_in(live_server, page, session):
    with_postcode(session)
    p = page.page
    open_page(page, live_server + "/?la=E08000099")
    p.evaluate(f"() => {MAP}.setView([53.5, -2.0], 8, {{animate: false}})")
    p.wait_for_function("() => document.querySelector('.folium-map').dataset.labels === '0'")
    assert p.locator(".ward-label").count() == 0  # too far out to name them
    # Side by side at zoom 11 the long name of the first ward would cover Eastfield's: one of
    # the two is written, never both over one another.
    for zoom, names in ((11, {"Northmoor", XSS}), (12, {"Northmoor", XSS, "Eastfield"})):
        p.evaluate(f"() => {MAP}.setView([53.5, -2.0], {zoom}, {{animate: false}})")
        p.wait_for_function(
            "n => document.querySelector('.folium-map').dataset.labels === String(n)",
            arg=len(names),
        )
        assert set(p.locator(".ward-label-text").all_inner_texts()) == names
        boxes = p.evaluate(
            "() => [...document.querySelectorAll('.ward-label-text')].map(n => {"
            " const r = n.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })"
        )
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    assert p.locator(".leaflet-wardLabels-pane").get_attribute("aria-hidden") == "true"
    page.screenshot("ward-labels")
    assert_clean(page)


def test_on_a_phone_the_map_is_on_the_first_screen_and_fits_the_borough(
    browser, live_server, session
):
    with_postcode(session)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        p = context.new_page()
        p.goto(live_server + "/?la=E08000099")
        p.wait_for_selector(".folium-map[data-loaded=true]")
        top, bottom = p.evaluate(
            "() => { const r = document.querySelector('.folium-map').getBoundingClientRect();"
            " return [r.top, r.bottom]; }"
        )
        assert top >= 0 and bottom <= 844 and bottom - top >= 280, (top, bottom)
        fits = p.evaluate(
            f"() => {MAP}.getBounds().contains(L.latLngBounds([[53.4, -2.1], [53.6, -1.9]]))"
        )
        assert fits
        # Named wards: the map reads without a base map.
        p.wait_for_function(
            "() => Number(document.querySelector('.folium-map').dataset.labels) >= 2"
        )
        PageWatch(p).screenshot("home-phone")
    finally:
        context.close()


@pytest.mark.parametrize(
    "url",
    ["/", "/wards/E05000002", "/search?q=north", "/search?q=TS1+1AA", "/search?q="],
    ids=["home", "ward", "results", "postcode", "empty"],
)
def test_the_pages_of_finding_a_place_have_no_serious_accessibility_problems(
    live_server, page, session, url
):
    with_postcode(session)
    p = page.page
    p.goto(live_server + url)
    if "/search" not in url:
        p.wait_for_selector(".folium-map[data-loaded=true]")
    assert p.locator("h1").count() == 1
    assert serious_accessibility_violations(p) == []


def test_on_a_ward_page_escape_returns_to_the_neighbouring_ward(live_server, page, session):
    with_postcode(session)
    p = page.page
    open_page(page, live_server + "/wards/E05000002")
    neighbour = p.locator('path[data-ward="E05000003"]')
    neighbour.focus()
    p.keyboard.press("Enter")
    popup_heading(p, "Northmoor")
    assert p.evaluate("() => !!document.activeElement.closest('.leaflet-popup')")
    p.keyboard.press("Escape")
    p.wait_for_function("() => !document.querySelector('.leaflet-popup')")
    assert focused_ward(p) == "E05000003"
    find(p, "TS1 1AA")
    status(p, "That is this ward")
    find(p, "northmoor")  # another ward: its profile
    p.wait_for_url("**/wards/E05000003")
    assert_clean(page)


def test_a_councils_tiles_are_drawn_under_the_wards_with_their_attribution(
    app, live_server, page, session
):
    # The app's own favicon stands in for the council's tile server: a real image, no internet.
    app.config.update(
        TILE_URL=live_server + "/static/favicon.svg?{z}/{x}/{y}",
        TILE_ATTRIBUTION="Contains OS data © Crown copyright and database rights 2026",
    )
    with_postcode(session)
    p = page.page
    open_page(page, live_server + "/?la=E08000099")
    p.wait_for_selector("img.leaflet-tile-loaded")
    attribution = p.locator(".leaflet-control-attribution").inner_text()
    assert "Contains OS data © Crown copyright and database rights 2026" in attribution
    assert serious_accessibility_violations(p) == []
    assert_clean(page)


def test_a_popup_opened_in_the_corner_pans_clear_of_the_map_controls(live_server, page, session):
    with_postcode(session)
    p = page.page
    open_page(page, live_server + "/?la=E08000099")
    p.get_by_label("Community groups").uncheck()
    p.evaluate(
        f"""() => {{ const m = {MAP};
          m.setView([53.55, -2.0], 13, {{animate: false}});
          m.eachLayer(l => {{
            if (l.feature && l.feature.properties.ward_code === "E05000003")
              l.openPopup(m.containerPointToLatLng([30, 20]));
          }}); }}"""
    )
    popup_heading(p, "Northmoor")
    # Polled: true once the map has panned the popup clear of every control.
    p.wait_for_function(
        """() => {
          const h = document.querySelector('.leaflet-popup-content h2').getBoundingClientRect();
          const map = document.querySelector('.folium-map').getBoundingClientRect();
          if (h.top < map.top || h.left < map.left) return false;
          return [...document.querySelectorAll('.leaflet-control')].every(c => {
            const r = c.getBoundingClientRect();
            return r.right <= h.left || h.right <= r.left || r.bottom <= h.top || h.bottom <= r.top;
          });
        }"""
    )
    assert_clean(page)


def test_a_ward_page_skips_to_its_map_groups_and_downloads(live_server, page, session):
    with_postcode(session)
    p = page.page
    open_page(page, live_server + "/wards/E05000002")
    p.keyboard.press("Tab")
    assert p.evaluate("() => document.activeElement.textContent") == "Skip to main content"
    for name, target in (
        ("Skip to the map", "map"),
        ("Skip to the groups", "ward-groups"),
        ("Skip to the downloads", "downloads"),
    ):
        p.keyboard.press("Tab")
        assert p.evaluate("() => document.activeElement.textContent") == name
        p.keyboard.press("Enter")
        p.wait_for_function("id => document.activeElement.id === id", arg=target)
        p.evaluate("() => document.activeElement.blur()")
        p.locator(f'a.skip-link:has-text("{name}")').focus()
