"""Accounts by email in a real headless Chromium, with a real SMTP server: invite -> accept ->
sign in; forgot password -> mail arrives -> reset -> the old session is refused; the email
settings and a reminder's mark-as-checked page."""

from datetime import date

import pytest

from mapper.core import notifications
from tests.browser.test_pages import serious_accessibility_violations
from tests.factories import PASSWORD, make_group, make_user, two_wards
from tests.mail import link_in

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a brand new long password"  # noqa: S105


def assert_clean(watch):
    """Nothing left the machine, nothing failed but the refusals meant (422 form, 409 link)."""
    assert watch.outside_requests() == []
    expected = ("status of 422", "status of 409")
    assert [e for e in watch.errors if not any(x in e for x in expected)] == []
    assert watch.dialogs == []


def sign_in(p, live_server, email, password=PASSWORD):
    p.goto(live_server + "/sign-in")
    p.get_by_label("Email address").fill(email)
    p.get_by_label("Password", exact=True).fill(password)
    p.get_by_role("button", name="Sign in").click()
    p.wait_for_url(live_server + "/")


def test_an_admin_invites_a_colleague_who_accepts_and_signs_in(
    live_server, page, mail_app, session, backend
):
    app, inbox = mail_app
    app.config["BASE_URL"] = live_server
    make_user(session, "admin@council.example", "admin", "Council", trusted=True)
    make_user(session, "ed@lio.example", organisation="Eastmere CVS")
    p = page.page

    sign_in(p, live_server, "admin@council.example")
    p.goto(live_server + "/admin/invitations/new")
    assert serious_accessibility_violations(p) == []
    p.get_by_label("Email address").fill("new.colleague@example.org")
    p.get_by_label("Role").select_option("editor")
    p.get_by_label("Organisation").select_option(label="Eastmere CVS")
    p.get_by_role("button", name="Send invitation").click()
    p.get_by_text("Invitation sent to new.colleague@example.org.").wait_for()
    assert p.get_by_role("cell", name="new.colleague@example.org", exact=True).is_visible()
    page.screenshot(f"invite-{backend}")
    assert serious_accessibility_violations(p) == []
    p.get_by_role("button", name="Sign out").click()

    [message] = inbox.wait_for(1)
    assert message["To"] == "new.colleague@example.org"
    p.goto(link_in(message))
    p.get_by_text("as an editor of Eastmere CVS").wait_for()
    assert serious_accessibility_violations(p) == []
    p.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    p.get_by_label("Confirm password").fill("not the same")
    p.get_by_role("button", name="Create account").click()
    p.get_by_role("heading", name="There is a problem").wait_for()
    p.wait_for_function("() => document.activeElement.classList.contains('error-summary')")
    assert serious_accessibility_violations(p) == []
    p.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    p.get_by_label("Confirm password").fill(NEW_PASSWORD)
    p.get_by_role("button", name="Create account").click()
    p.get_by_text("Your account is ready.").wait_for()

    sign_in(p, live_server, "new.colleague@example.org", NEW_PASSWORD)
    assert p.get_by_role("link", name="Your groups").is_visible()
    assert_clean(page)


def test_forgot_password_mail_reset_and_the_old_session_is_refused(
    live_server, browser, page, mail_app, session, backend
):
    app, inbox = mail_app
    app.config["BASE_URL"] = live_server
    make_user(session, "ed@lio.example", organisation="Eastmere CVS")
    other = browser.new_context()  # a browser left signed in elsewhere
    old = other.new_page()
    sign_in(old, live_server, "ed@lio.example")
    p = page.page

    p.goto(live_server + "/sign-in")
    p.get_by_role("link", name="Forgot your password?").click()
    assert serious_accessibility_violations(p) == []
    p.get_by_label("Email address").fill("ed@lio.example")
    p.keyboard.press("Enter")  # keyboard only
    p.get_by_role("heading", name="Check your email").wait_for()
    assert serious_accessibility_violations(p) == []

    [message] = inbox.wait_for(1)
    p.goto(link_in(message))
    p.get_by_role("heading", name="Choose a new password").wait_for()
    assert serious_accessibility_violations(p) == []
    p.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    p.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.screenshot(f"reset-{backend}")
    p.get_by_role("button", name="Change password").click()
    p.get_by_text("Your password has been changed.").wait_for()

    old.goto(live_server + "/groups/mine")
    assert "/sign-in" in old.url  # the old session is refused
    other.close()
    sign_in(p, live_server, "ed@lio.example", NEW_PASSWORD)
    p.goto(link_in(message))
    p.get_by_text("already been used").wait_for()
    assert_clean(page)


def test_the_email_settings_and_mark_as_checked_pages_are_axe_clean_and_work_by_keyboard(
    live_server, page, session, backend
):
    two_wards(session)
    editor = make_user(session, "ed@lio.example", organisation="Eastmere CVS")
    group = make_group(
        session,
        "Old Choir",
        (-1.95, 53.45),
        organisation_id=editor.organisation_id,
        last_verified=date(2020, 1, 1),
    )
    p = page.page
    p.goto(live_server + notifications.check_link_path("test-secret-key", group, editor))
    p.get_by_role("heading", name="Mark “Old Choir” as checked").wait_for()
    assert serious_accessibility_violations(p) == []
    p.get_by_role("button", name="Mark as checked today").focus()
    p.keyboard.press("Enter")
    p.get_by_text("Marked “Old Choir” as checked today.").wait_for()
    session.expire_all()
    assert group.last_verified == date.today()

    sign_in(p, live_server, "ed@lio.example")
    p.get_by_role("link", name="Emails").click()
    assert serious_accessibility_violations(p) == []
    p.get_by_label("Send me notification emails").uncheck()
    p.get_by_role("button", name="Save").click()
    p.get_by_text("Notification emails are off.").wait_for()
    assert not p.get_by_label("Send me notification emails").is_checked()
    page.screenshot(f"email-settings-{backend}")
    assert_clean(page)
