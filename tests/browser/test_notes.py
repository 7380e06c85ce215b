"""A note's life in a real headless Chromium: a partner posts it (the form refuses first,
GOV.UK style), another replies and resolves it; the ward page lists it and draws it on the
map as text; every page axe-clean and offline."""

import pytest

from mapper.store.notes import WardNote
from tests.browser.test_accounts import assert_clean
from tests.browser.test_pages import serious_accessibility_violations
from tests.browser.test_registration import sign_in, sign_out
from tests.factories import make_user, two_wards

pytestmark = pytest.mark.browser

TEXT = "<img src=x onerror=alert(1)> New estate on Mill Lane, no groups yet"


def test_a_note_is_posted_replied_to_and_resolved(live_server, page, session, backend):
    two_wards(session)
    make_user(session, "ed@lio.example", organisation="Small LIO")
    make_user(session, "admin@council.example", "admin", "Council", trusted=True)
    p = page.page
    sign_in(p, live_server, "ed@lio.example")
    p.goto(f"{live_server}/wards/E05000002")
    p.wait_for_selector(".folium-map[data-loaded=true]")
    p.get_by_role("link", name="Post a note on this ward").click()
    p.get_by_role("heading", name="Post a note on West Ward").wait_for()
    assert serious_accessibility_violations(p) == []

    # Sent empty, the form says what is missing and the focus goes to the summary.
    p.get_by_role("button", name="Post the note").click()
    p.wait_for_function("() => document.activeElement.classList.contains('error-summary')")
    assert p.locator('.error-summary a[href="#text"]').count() == 1
    assert p.title().startswith("Error:")
    page.screenshot(f"note-form-errors-{backend}")
    assert serious_accessibility_violations(p) == []
    p.locator('.error-summary a[href="#text"]').click()
    assert p.evaluate("document.activeElement.id") == "text"

    p.keyboard.type(TEXT)
    p.get_by_label("Faith").check()
    p.get_by_label("Longitude").fill("-2.05")
    p.get_by_label("Latitude").fill("53.45")
    p.get_by_role("button", name="Post the note").click()
    p.get_by_text("Your note is posted.").wait_for()
    assert p.locator(".lead").inner_text() == TEXT  # as text, never as markup
    assert serious_accessibility_violations(p) == []
    note_url = p.url
    sign_out(p)

    # Another partner replies, then resolves it.
    sign_in(p, live_server, "admin@council.example")
    p.goto(note_url)
    p.get_by_label("Your reply").fill("The council's estates team will contact the developer.")
    p.get_by_role("button", name="Reply").click()
    p.get_by_text("Your reply is posted.").wait_for()
    assert "estates team" in p.locator("#replies-heading + .note-list").inner_text()
    p.get_by_role("button", name="Mark as resolved").click()
    p.get_by_text("The note is resolved.").wait_for()
    assert p.get_by_role("button", name="Reopen").count() == 1
    page.screenshot(f"note-resolved-{backend}")
    assert serious_accessibility_violations(p) == []
    session.expire_all()
    [note] = session.query(WardNote).all()
    assert (note.status, len(note.replies), note.categories) == ("resolved", 1, ["faith"])

    # The ward page lists it and the notes layer draws it; its popup is text.
    p.goto(f"{live_server}/wards/E05000002")
    p.wait_for_selector(".folium-map[data-loaded=true]")
    assert "resolved; partners only; 1 reply" in p.locator(".note-list").inner_text()
    marker = p.locator(".note-marker")
    assert marker.count() == 1
    marker.focus()
    p.keyboard.press("Enter")
    popup = p.locator(".leaflet-popup-content")
    popup.wait_for()
    assert TEXT in popup.inner_text() and popup.locator("img").count() == 0
    page.screenshot(f"ward-notes-{backend}")
    assert serious_accessibility_violations(p) == []

    # The home map has the notes as a layer, off until switched on.
    p.goto(f"{live_server}/?la=E08000099")
    p.wait_for_selector(".folium-map[data-loaded=true]")
    assert p.locator(".note-marker").count() == 0
    p.get_by_label("Partners' notes").check()
    assert p.locator(".note-marker").count() == 1
    assert_clean(page)
