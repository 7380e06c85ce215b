"""The admins' pages in a real headless Chromium: an admin deactivates a user and that user's
next request is refused; the users, organisations, audit and API tokens pages are axe-clean
and work from the keyboard."""

import pytest

from tests.browser.test_pages import assert_clean, serious_accessibility_violations
from tests.browser.test_registration import sign_in
from tests.conftest import PageWatch
from tests.factories import make_group, make_user, two_wards

pytestmark = pytest.mark.browser


def assert_accessible(watch, name):
    watch.screenshot(name)
    assert serious_accessibility_violations(watch.page) == []


def test_an_admin_deactivates_a_user_whose_next_request_is_refused(
    live_server, page, browser, session, backend
):
    make_user(session, "admin@council.example", "admin", "Eastmere Council", trusted=True)
    make_user(session, "ed@lio.example", organisation="Small LIO")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    theirs = PageWatch(context.new_page())
    sign_in(theirs.page, live_server, "ed@lio.example")
    theirs.page.goto(live_server + "/groups/mine")
    assert theirs.page.get_by_role("heading", name="Your organisation's groups").is_visible()

    p = page.page
    sign_in(p, live_server, "admin@council.example")
    p.get_by_role("link", name="Users", exact=True).click()
    p.get_by_label("Email or organisation").fill("small lio")
    p.keyboard.press("Enter")  # the search form submits from the keyboard
    p.wait_for_url("**/admin/users?q=small+lio*")
    assert p.locator("#result-count").inner_text().startswith("1 user match")
    assert_accessible(page, f"admin-users-{backend}")
    p.get_by_role("link", name="ed@lio.example").click()
    p.get_by_role("heading", name="ed@lio.example").wait_for()
    assert_accessible(page, f"admin-user-{backend}")
    p.get_by_label("Reason").fill("Left the LIO")
    p.keyboard.press("Tab")  # to the Deactivate… button
    p.keyboard.press("Enter")
    p.get_by_role("heading", name="Deactivate ed@lio.example?").wait_for()
    assert_accessible(page, f"admin-deactivate-confirm-{backend}")
    p.get_by_role("button", name="Deactivate").click()
    p.get_by_text("Deactivated ed@lio.example.").wait_for()
    assert p.get_by_role("button", name="Reactivate the account").is_visible()

    theirs.page.goto(live_server + "/groups/mine")
    assert "/sign-in" in theirs.page.url  # signed out at once
    theirs.page.get_by_label("Email address").fill("ed@lio.example")
    assert_clean(page)
    assert_clean(theirs)
    context.close()


def test_the_organisations_audit_and_tokens_pages_are_axe_clean_and_keyboard_usable(
    live_server, page, session, backend
):
    two_wards(session)
    make_user(session, "admin@council.example", "admin", "Eastmere Council", trusted=True)
    cvs = make_user(session, "tess@cvs.example", organisation="Eastmere CVS (fictional)")
    for i in range(2):
        make_group(session, f"Club {i}", (-2.05, 53.45), organisation=cvs.organisation)
    p = page.page
    sign_in(p, live_server, "admin@council.example")
    p.goto(live_server + "/admin/organisations")
    assert_accessible(page, f"admin-organisations-{backend}")
    p.get_by_role("link", name="Eastmere CVS (fictional)").click()
    p.get_by_role("heading", name="Groups (2)").wait_for()
    assert_accessible(page, f"admin-organisation-{backend}")
    # Continuing with no group chosen: the error summary takes the focus and links to the field.
    p.get_by_label("Move the chosen groups to").select_option(label="Eastmere Council")
    p.get_by_role("button", name="Continue").click()
    summary = p.locator(".error-summary")
    summary.wait_for()
    p.wait_for_function("() => document.activeElement.classList.contains('error-summary')")
    assert "Choose at least one group" in summary.inner_text()
    assert_accessible(page, f"admin-organisation-error-{backend}")
    assert page.errors == [  # the refused form's 422, as the browser reports it
        "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
    ]
    page.errors.clear()
    p.get_by_label("Choose Club 0").check()
    p.get_by_label("Move the chosen groups to").select_option(label="Eastmere Council")
    p.get_by_role("button", name="Continue").click()
    p.get_by_role("button", name="Move 1 group").click()
    p.get_by_text("Moved 1 group to Eastmere Council.").wait_for()

    p.goto(live_server + "/admin/audit")
    p.get_by_label("Action").select_option("move")
    p.get_by_role("button", name="Show events").click()
    assert p.locator("#result-count").inner_text().startswith("1 event")
    assert "Eastmere CVS (fictional) → Eastmere Council" in p.locator("tbody").inner_text()
    assert_accessible(page, f"admin-audit-{backend}")

    p.get_by_role("link", name="API tokens").click()
    p.get_by_label("What the token is for").fill("QGIS on the office PC")
    p.keyboard.press("Enter")
    token = p.get_by_label("Token", exact=True).input_value()
    assert token.startswith("cm_")
    assert_accessible(page, f"account-tokens-{backend}")
    p.goto(live_server + "/account/tokens")
    assert token not in p.content()
    p.get_by_role("button", name="Revoke the token for QGIS on the office PC").click()
    p.get_by_text("The token is revoked").wait_for()
    assert_clean(page)
