"""Complete profiles in a real headless Chromium: a ward page's lists page, a service's page and
the "Tell us this has changed or closed" form are axe-clean, and the form works by keyboard."""

import pytest

from tests.browser.test_pages import assert_clean, open_page, serious_accessibility_violations
from tests.factories import make_group, make_service, make_user, two_wards
from tests.mail import text_of

pytestmark = pytest.mark.browser


def test_a_ward_pages_its_groups_and_a_service_has_its_page(live_server, page, session, backend):
    two_wards(session)
    for i in range(45):
        make_group(session, f"Group {i:02d}", (-2.09 + i / 500, 53.42))
    make_service(
        session,
        "Warm Space",
        (-2.06, 53.47),
        provider="Testshire Libraries",
        contact_public="warm@libraries.example, 0161 496 0000",
    )
    p = page.page
    open_page(page, live_server + "/wards/E05000002")
    assert p.get_by_text("45 active groups; 1–40 by name.").count() == 1
    assert serious_accessibility_violations(p) == []
    p.get_by_role("link", name="Next page of community groups based here").click()
    p.wait_for_selector(".folium-map[data-loaded=true]")
    assert p.get_by_role("link", name="Group 44").count() == 1
    assert p.get_by_role("link", name="Group 00").count() == 0
    page.screenshot(f"ward-groups-page-2-{backend}")

    # The service's popup on the map links to its page, as the list does.
    p.locator('path.leaflet-interactive[stroke="#5b2a86"]').first.click()
    p.locator(".leaflet-popup-content h2", has_text="Warm Space").wait_for()
    # The filled popup pans the map into view: a click while it moves lands beside the link.
    p.wait_for_function("() => !document.querySelector('.leaflet-pan-anim')")
    p.locator(".leaflet-popup-content").get_by_role("link", name="More about this service").click()
    p.get_by_role("heading", name="Warm Space", level=1).wait_for()
    p.go_back()
    p.wait_for_selector(".folium-map[data-loaded=true]")
    p.locator("#services").get_by_role("link", name="Warm Space").click()
    p.get_by_role("heading", name="Warm Space", level=1).wait_for()
    p.wait_for_selector(".folium-map[data-loaded=true]")
    assert p.locator('img.leaflet-marker-icon[alt="Warm Space"]').count() == 1  # on its map
    assert p.get_by_role("link", name="warm@libraries.example").get_attribute("href") == (
        "mailto:warm@libraries.example"
    )
    assert serious_accessibility_violations(p) == []
    page.screenshot(f"service-{backend}")
    assert_clean(page)


def test_the_tell_us_form_works_from_the_keyboard(live_server, page, mail_app, session, backend):
    _, inbox = mail_app
    two_wards(session)
    keeper = make_user(session, "keeper@lio.example", organisation="LIO")
    group = make_group(session, "Walkers", (-2.05, 53.45), organisation_id=keeper.organisation_id)
    p = page.page
    open_page(page, f"{live_server}/groups/{group.id}")
    p.get_by_role("link", name="Tell us this has changed or closed").focus()
    p.keyboard.press("Enter")
    p.get_by_role("heading", name="Tell us Walkers has changed or closed").wait_for()
    assert serious_accessibility_violations(p) == []

    # Sent empty: the error summary takes the focus and names the fields.
    p.get_by_role("button", name="Send the note").focus()
    p.keyboard.press("Enter")
    p.get_by_role("heading", name="There is a problem").wait_for()
    assert serious_accessibility_violations(p) == []
    page.screenshot(f"tell-us-errors-{backend}")

    p.get_by_label("Its details have changed").focus()
    p.keyboard.press("ArrowDown")  # to "It has closed or stopped meeting", checking it
    p.keyboard.press("Tab")
    p.keyboard.type("We stopped meeting in May.")
    p.keyboard.press("Tab")
    p.keyboard.type("reader@home.example")
    p.keyboard.press("Tab")  # past the honeypot, which nobody sees
    assert p.evaluate("() => document.activeElement.textContent") == "Send the note"
    p.keyboard.press("Enter")
    p.get_by_text("your note has been sent").wait_for()
    page.screenshot(f"tell-us-sent-{backend}")
    [message] = inbox.wait_for(1)
    assert message["To"] == "keeper@lio.example" and message["Reply-To"] == "reader@home.example"
    assert "says it has closed or stopped meeting" in text_of(message)
    assert "We stopped meeting in May." in text_of(message)
    errors = [e for e in page.errors if "status of 422" not in e]
    assert page.outside_requests() == [] and errors == [] and page.dialogs == []
