"""The whole registration flow in a real headless Chromium: register, approve, see it mapped."""

import json
import urllib.request

import pytest
from sqlalchemy import select

from mapper.store.models import CommunityGroup, Postcode
from tests.factories import PASSWORD, make_user, two_wards

pytestmark = pytest.mark.browser

NAME = "Larkspur <b>Knit</b> & Natter"  # markup in a name must stay text


def sign_in(page, live_server, email):
    page.goto(live_server + "/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server + "/")


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You are signed out.").wait_for()


def public_groups(live_server):
    with urllib.request.urlopen(live_server + "/api/v1/groups") as response:
        return json.load(response)["features"]


def groups_per_ward(live_server):
    """The gap analysis's `groups` per ward code, as downloaded."""
    with urllib.request.urlopen(live_server + "/gaps.geojson") as response:
        gaps = json.load(response)
    return {f["properties"]["ward_code"]: f["properties"]["groups"] for f in gaps["features"]}


@pytest.mark.both_backends
def test_an_editor_registers_a_group_an_admin_approves_it_and_it_is_mapped(
    live_server, page, session, backend
):
    two_wards(session)
    session.add(Postcode(postcode="TS1 1AA", lon=-1.95, lat=53.45))
    session.commit()
    make_user(session, "ed@lio.example", organisation="Small LIO")
    make_user(session, "admin@council.example", "admin", "Council", trusted=True)
    p = page.page

    # An editor of an untrusted organisation registers a group by postcode.
    sign_in(p, live_server, "ed@lio.example")
    p.get_by_role("link", name="Register a group").click()
    p.get_by_label("Name of the group").fill(NAME)
    p.get_by_label("Social and befriending").check()
    p.get_by_label("Arts and culture").check()
    p.get_by_label("Postcode").fill("ts1 1aa")
    p.get_by_label("When the group meets").fill("Thursdays 14:00")
    page.screenshot(f"register-form-{backend}")
    p.get_by_role("button", name="Register the group").click()
    p.get_by_text("waits for an administrator's approval").wait_for()
    assert public_groups(live_server) == []  # pending: not public ...
    assert groups_per_ward(live_server) == {"E05000001": 0, "E05000002": 0}  # ... nor counted
    sign_out(p)

    # An admin approves it from the moderation queue.
    sign_in(p, live_server, "admin@council.example")
    p.get_by_role("link", name="Moderation").click()
    queue_item = p.locator("article.queue-item", has_text="Knit")
    assert queue_item.locator("h3").inner_text() == NAME
    page.screenshot(f"moderation-{backend}")
    queue_item.get_by_role("button", name="Approve").click()
    p.get_by_text(f"Approved {NAME}.").wait_for()
    sign_out(p)

    # Signed out, it is in the API and on the home page map.
    [feature] = public_groups(live_server)
    props = feature["properties"]
    assert (props["name"], props["ward_code"], props["status"]) == (NAME, "E05000001", "active")
    assert props["categories"] == ["arts-culture", "social-befriending"]
    p.goto(live_server + "/")
    p.wait_for_selector(".folium-map[data-loaded=true]")
    marker = p.locator(".leaflet-marker-icon").first
    assert marker.get_attribute("title") == NAME
    marker.click()
    assert p.locator(".leaflet-popup-content h2").inner_text() == NAME
    page.screenshot(f"approved-on-map-{backend}")

    # ... and counted in the gap analysis.
    assert groups_per_ward(live_server) == {"E05000001": 1, "E05000002": 0}

    assert page.outside_requests() == []
    assert page.errors == []
    assert page.dialogs == []


def test_clicking_the_map_places_the_group(live_server, page, session, backend):
    two_wards(session)
    make_user(session, "tess@cvs.example", organisation="Big CVS", trusted=True)
    p = page.page
    sign_in(p, live_server, "tess@cvs.example")
    p.goto(live_server + "/groups/new")
    p.wait_for_selector(".folium-map[data-loaded=true]")
    assert p.locator("path.leaflet-interactive").count() == 2  # the wards, to click in
    p.locator(".folium-map").scroll_into_view_if_needed()
    wards = [p.locator("path.leaflet-interactive").nth(i).bounding_box() for i in range(2)]
    west = min(wards, key=lambda box: box["x"])
    p.mouse.click(west["x"] + west["width"] / 2, west["y"] + west["height"] / 2)
    lon = float(p.get_by_label("Longitude").input_value())
    lat = float(p.get_by_label("Latitude").input_value())
    assert abs(lon - -2.05) < 0.01 and abs(lat - 53.45) < 0.01  # the middle of West Ward
    assert p.locator(".leaflet-marker-icon[title='Chosen location']").count() == 1
    p.get_by_label("Name of the group").fill("Clicked Choir")
    p.get_by_label("Faith").check()
    p.get_by_role("button", name="Register the group").click()
    p.get_by_text("is registered and on the map").wait_for()
    session.expire_all()
    group = session.scalar(select(CommunityGroup))
    assert (group.name, group.status, group.ward.code) == ("Clicked Choir", "active", "E05000002")
    assert page.outside_requests() == [] and page.errors == []


def test_the_form_shows_errors_beside_the_fields_in_the_browser(live_server, page, session):
    two_wards(session)
    make_user(session, "ed@lio.example")
    p = page.page
    sign_in(p, live_server, "ed@lio.example")
    p.goto(live_server + "/groups/new")
    p.get_by_label("Postcode").fill("XX1 1XX")
    p.get_by_role("button", name="Register the group").click()
    assert p.locator("#name-error").text_content() == "Error: Enter the name of the group"
    assert p.locator("#categories-error").text_content() == "Error: Choose at least one activity"
    assert p.locator("#postcode-error").text_content().startswith("Error: We cannot find that")
    assert p.get_by_label("Postcode").input_value() == "XX1 1XX"
    assert p.get_by_label("Name of the group").get_attribute("aria-invalid") == "true"
    # The refused form comes back as 422, which Chromium logs; no script failed.
    assert [e for e in page.errors if "status of 422" not in e] == []
