"""The map pages in a real headless Chromium: drawn, escaped, offline and accessible."""

from pathlib import Path

import pytest
from shapely.geometry import MultiPolygon, box

from mapper.store import db
from mapper.store.models import Coordinator
from tests.factories import make_group, make_service, two_wards

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def serious_accessibility_violations(page):
    """Run axe-core inside the page; return its serious and critical violations."""
    if not AXE.exists():
        pytest.fail(
            f"axe-core is not installed at {AXE}: run scripts/setup.sh --test", pytrace=False
        )
    # Evaluated through the DevTools protocol: a <script> tag would be refused by our own CSP.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    # What the page draws is in its body: an element added outside it, beside <body> under
    # <html>, is not ours (under load, a span there failed colour contrast, twice; axe's
    # `include` did not keep it out, so the nodes outside the body are dropped here).
    result = page.evaluate(
        """async () => {
          const result = await axe.run({include: [['body']]}, {resultTypes: ['violations']});
          const inBody = node => {
            if (typeof node.target[0] !== "string") return true;  // in a frame or shadow root
            const found = document.querySelector(node.target[0]);
            return found !== null && document.body.contains(found);
          };
          result.violations.forEach(v => { v.nodes = v.nodes.filter(inBody); });
          result.violations = result.violations.filter(v => v.nodes.length);
          return result;
        }"""
    )
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def assert_clean(watch):
    """Nothing left the machine, nothing failed and no script ever opened a dialog."""
    assert watch.outside_requests() == []
    assert watch.errors == []
    assert watch.dialogs == []


def borough(session):
    wards = two_wards(session)
    xss = make_group(session, XSS, (-2.05, 53.45), categories=["food-support"], kind="charity")
    make_group(session, "Over the road", (-1.999, 53.45))
    make_group(session, "Far east", (-1.92, 53.45))
    for i in range(12):
        make_group(session, f"Group {i}", (-2.09 + i / 200, 53.42))
    make_service(session, "Library", (-2.06, 53.47), provider=XSS)
    session.add(
        Coordinator(
            name="Alice Example",
            patch=db.to_wkb_element(MultiPolygon([box(-2.1, 53.4, -2.0, 53.45)])),
        )
    )
    session.commit()
    return wards, xss


def open_page(watch, url):
    watch.page.goto(url)
    watch.page.wait_for_selector(".folium-map[data-loaded=true]")


def test_ward_page_draws_the_ward_its_neighbours_groups_and_services(
    live_server, page, session, backend
):
    _, xss = borough(session)
    open_page(page, live_server + "/wards/E05000002")
    p = page.page
    assert p.locator("h1").all_inner_texts() == ["West Ward"]
    assert p.locator("path.leaflet-interactive").count() >= 2  # the ward and its neighbour
    assert p.locator(".marker-cluster, .leaflet-marker-icon").count() >= 1
    assert p.get_by_role("link", name=XSS).count() == 1  # listed as text
    assert p.get_by_role("link", name="Over the road").count() == 1
    page.screenshot(f"ward-{backend}")

    # The group's popup is built from fetched JSON, as text.
    marker = p.locator(f'img.leaflet-marker-icon[alt="{XSS}"]')
    marker.click()
    popup = p.locator(".leaflet-popup-content h2")
    popup.wait_for()
    assert popup.inner_text() == XSS
    assert p.locator(".leaflet-popup-content img").count() == 0
    page.screenshot(f"ward-popup-{backend}")

    assert serious_accessibility_violations(p) == []
    assert_clean(page)


def test_group_page_shows_the_group_on_a_map_as_text(live_server, page, session, backend):
    _, xss = borough(session)
    open_page(page, live_server + f"/groups/{xss.id}")
    p = page.page
    assert p.locator("h1").all_inner_texts() == [XSS]
    assert p.locator("main img[src=x]").count() == 0
    assert p.locator(f'img.leaflet-marker-icon[alt="{XSS}"]').count() == 1
    assert p.locator("path.leaflet-interactive, path").count() >= 1  # the ward's outline
    page.screenshot(f"group-{backend}")
    assert serious_accessibility_violations(p) == []
    assert_clean(page)


def test_pages_work_on_a_phone_width_screen(live_server, browser, session):
    from tests.conftest import PageWatch

    _, xss = borough(session)
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    watch = PageWatch(context.new_page())
    try:
        for name, url in (("ward", "/wards/E05000002"), ("group", f"/groups/{xss.id}")):
            open_page(watch, live_server + url)
            scroll_width = watch.page.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= 375, name  # nothing wider than the screen
            watch.screenshot(f"{name}-phone")
        assert_clean(watch)
    finally:
        context.close()
