"""The pages in a real headless Chromium (Playwright driving /usr/bin/chromium)."""

import pytest

from tests.factories import make_group, two_wards

pytestmark = pytest.mark.browser


def test_home_page_draws_wards_and_clustered_groups_using_only_the_app(
    live_server, page, session, backend
):
    two_wards(session)
    for i in range(30):
        make_group(session, f"Group {i}", (-2.09 + i / 200, 53.45))
    make_group(session, "<img src=x onerror=alert(1)>", (-2.05, 53.47))

    page.page.goto(live_server + "/")
    page.page.wait_for_selector(".folium-map[data-loaded=true]")
    assert page.page.locator("path.leaflet-interactive").count() == 2  # one per ward
    assert page.page.locator(".marker-cluster").count() >= 1
    page.screenshot(f"home-{backend}")

    assert page.outside_requests() == []
    assert page.errors == []
    assert page.dialogs == []
