"""The open-data pages (OGC API in HTML, API documentation) in a real headless Chromium."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_pages import serious_accessibility_violations
from tests.factories import make_group, two_wards

pytestmark = pytest.mark.browser


def test_a_reader_can_walk_from_the_ogc_landing_page_to_a_group(
    live_server, page, session, backend
):
    two_wards(session)
    for i in range(3):
        make_group(session, f"Group {i}", (-2.09 + i / 100, 53.45))
    make_group(session, "<img src=x onerror=alert(1)>", (-2.05, 53.47))

    page.page.goto(live_server + "/ogc?f=html")
    page.page.get_by_role("link", name="The feature collections").click()
    page.page.get_by_role("link", name="Community groups").first.click()
    page.page.get_by_role("link", name="Community groups as HTML").click()
    expect(page.page.locator("tbody tr")).to_have_count(4)  # waits for the page to load
    page.screenshot(f"ogc-items-{backend}")
    page.page.get_by_role("link", name="1", exact=True).click()
    expect(page.page.locator("h1")).to_have_text("Group 0")

    page.page.goto(live_server + "/api/")
    page.page.get_by_role("link", name="GET /ogc/collections/groups/items", exact=True).click()
    assert page.page.url.endswith("#op-get--ogc-collections-groups-items")
    assert page.page.locator("h3", has_text="/ogc/collections/groups/items").first.is_visible()
    page.screenshot(f"api-docs-{backend}")

    assert page.outside_requests() == []
    assert page.errors == []
    assert page.dialogs == []


def test_the_ogc_api_definition_is_a_page_with_f_html(live_server, page):
    page.page.goto(live_server + "/ogc/api?f=html")
    expect(page.page.locator("h1")).to_be_visible()
    link = page.page.get_by_role("link", name="GET /ogc/collections/gaps/schema", exact=True)
    link.focus()
    page.page.keyboard.press("Enter")
    assert page.page.url.endswith("#op-get--ogc-collections-gaps-schema")
    assert serious_accessibility_violations(page.page) == []
    assert page.outside_requests() == [] and page.errors == []
