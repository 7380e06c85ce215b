"""The change map and the decision form in a real headless Chromium: drawn, usable, offline
and accessible (axe-core)."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from mapper.store.evidence import Decision
from mapper.web import maps
from tests.browser.test_pages import assert_clean, serious_accessibility_violations
from tests.browser.test_registration import sign_in
from tests.factories import borough_with_evidence, make_user, trafford_across_boundary_change

pytestmark = pytest.mark.browser

COLOURS = {colour: value for value, _, colour, _ in maps.CHANGE_CLASSES}


def test_the_change_map_colours_traffords_wards_by_their_change_across_the_boundary_change(
    live_server, page, app, session, geodata, backend
):
    before, after = trafford_across_boundary_change(app, session, geodata)
    p = page.page
    p.goto(f"{live_server}/changes?la=E08000009&from_snapshot={before.id}&to_snapshot={after.id}")
    p.wait_for_selector("#change-map[data-loaded=true]")
    paths = p.locator("path.leaflet-interactive[data-change]")
    assert paths.count() == 21
    fills = p.evaluate(
        "() => [...document.querySelectorAll('path[data-change]')]"
        ".map(path => [path.getAttribute('data-change'), path.getAttribute('fill')])"
    )
    assert all(COLOURS[fill] == change for change, fill in fills)
    assert p.locator(".change-table tbody tr").count() == 21
    assert "21 of 21 wards converted from the 2017 wards" in p.inner_text("main")
    page.screenshot(f"changes-{backend}")

    # A ward opens its popup from the keyboard, built from the fetched figures as text.
    ward = p.locator('path[data-ward="E05015239"]')
    ward.focus()
    p.keyboard.press("Enter")
    heading = p.locator(".leaflet-popup-content h2")
    heading.wait_for()
    assert heading.inner_text() == "Altrincham"
    assert "postcodes" in p.locator(".leaflet-popup-content").inner_text()
    page.screenshot(f"changes-popup-{backend}")
    assert serious_accessibility_violations(p) == []
    assert_clean(page)


def test_an_administrator_records_a_decision_with_the_form(live_server, page, session, backend):
    snapshot = borough_with_evidence(session)
    make_user(session, "admin@council.example", "admin", "Council", trusted=True)
    p = page.page
    sign_in(p, live_server, "admin@council.example")
    p.goto(f"{live_server}/decisions/new?la=E08000099")
    p.get_by_role("heading", name="2. The decision").wait_for()
    assert serious_accessibility_violations(p) == []

    # Sent half filled in, the form says what is missing, next to each field.
    p.get_by_role("button", name="Record the decision").click()
    p.get_by_role("heading", name="There is a problem").wait_for()
    for field in ("wards", "action", "summary", "decided_by", "decided_on", "review_on"):
        assert p.locator(f'.error-summary a[href="#{field}"]').count() == 1, field
    page.screenshot(f"decision-form-errors-{backend}")
    assert serious_accessibility_violations(p) == []
    assert page.errors == [
        "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
    ]  # the refused form, as the console logs it
    page.errors.clear()

    p.get_by_label("West Ward").check()
    p.get_by_label("Invest in community development").check()
    p.get_by_label("The decision", exact=True).fill(
        "Fund a development worker in West Ward for two years."
    )
    p.get_by_label("Decided by", exact=True).fill("Testshire Partnership Board")
    p.get_by_label("Decided on", exact=True).fill(date.today().isoformat())
    p.get_by_label("Review on").fill((date.today() + timedelta(days=365)).isoformat())
    p.get_by_label("Everyone (public)").check()
    page.screenshot(f"decision-form-{backend}")
    p.get_by_role("button", name="Record the decision").click()
    p.get_by_text("The decision is recorded.").wait_for()
    assert "Invest in community development: West Ward" in p.inner_text("h1")
    assert p.locator('.evidence-table td[data-figure="groups"]').inner_text() == "3"
    page.screenshot(f"decision-{backend}")
    assert serious_accessibility_violations(p) == []
    assert_clean(page)
    [decision] = session.scalars(select(Decision)).all()
    assert decision.snapshot_id == snapshot.id and decision.status == "agreed"

    # The home map shows it as a layer, a marker inside the ward with a link to it.
    p.goto(f"{live_server}/?la=E08000099")
    p.wait_for_selector(".folium-map[data-loaded=true]")
    assert p.locator(".decision-marker").count() == 0
    p.get_by_label("Decisions").check()
    marker = p.locator(".decision-marker")
    assert marker.count() == 1
    marker.click()
    p.get_by_role("link", name="The decision").wait_for()
    assert p.locator(".leaflet-popup-content h2").inner_text() == "Invest: West Ward"
    # Leaflet fades the popup in: axe would measure the contrast of a half-transparent link.
    p.wait_for_function(
        "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'"
    )
    assert serious_accessibility_violations(p) == []

    # The other evidence pages are accessible too.
    for url in (
        "/snapshots",
        f"/snapshots/{snapshot.id}",
        "/decisions",
        "/review/E08000099",
        f"/changes?la=E08000099&from_snapshot={snapshot.id}",
    ):
        p.goto(live_server + url)
        if "changes" in url:
            p.wait_for_selector("#change-map[data-loaded=true]")
        assert serious_accessibility_violations(p) == [], url
    page.screenshot(f"changes-to-now-{backend}")
    assert_clean(page)
