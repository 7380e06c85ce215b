"""A sensitive location in a real headless Chromium: an editor hides a group's place on its
edit form (by keyboard), and its public page then shows the ward only, axe-clean."""

import pytest

from mapper.core import groups
from tests.browser.test_daily_work import assert_accessible, assert_clean
from tests.browser.test_registration import sign_in
from tests.factories import four_users

pytestmark = pytest.mark.browser


def test_an_editor_hides_a_groups_location_and_its_page_shows_the_ward_only(
    live_server, page, session, backend
):
    people = four_users(session)
    group, _ = groups.register_group(
        session,
        people["trusted"],
        {"name": "Haven", "categories": ["faith"], "lon": -2.043217, "lat": 53.456789},
    )
    p = page.page
    sign_in(p, live_server, "tess@cvs.example")
    p.goto(f"{live_server}/groups/{group.id}/edit")
    p.wait_for_selector(".folium-map[data-loaded=true]")
    field = p.get_by_label("Where the public may see the group")
    assert field.input_value() == "exact"
    assert_accessible(page)
    field.focus()  # keyboard only: the choices are in order exact, approximate, hidden
    p.keyboard.press("ArrowDown")
    p.keyboard.press("ArrowDown")
    assert field.input_value() == "hidden"
    p.get_by_role("button", name="Save changes").click()
    p.get_by_text("Haven is saved.").wait_for()
    session.expire_all()
    assert group.location_precision == "hidden"
    assert group.ward.code == "E05000002"  # still where it really is
    p.goto(f"{live_server}/groups/{group.id}")
    p.wait_for_selector(".folium-map[data-loaded=true]")
    assert "Published by ward only" in p.locator(".facts").inner_text()
    assert p.locator(".leaflet-marker-icon").count() == 0
    assert_accessible(page)
    p.goto(f"{live_server}/groups/{group.id}/edit")
    assert p.get_by_label("Where the public may see the group").input_value() == "hidden"
    assert_clean(page)
