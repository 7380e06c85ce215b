"""Notification pages and commands: the opt-out, the reminders' one-button check pages, and
`mapper send-reminders` / `send-mail` sending over a real SMTP server."""

from datetime import date

import pytest
from sqlalchemy import select

from mapper.core import groups, mail, notifications
from mapper.store.models import AuditEvent
from tests.factories import four_users, make_group
from tests.forms import post_form, sign_in
from tests.mail import text_of


@pytest.fixture
def people(session):
    return four_users(session)


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_a_user_turns_notification_emails_off_and_on(client, session, people):
    sign_in(client, "ed@lio.example")
    page = client.get("/account/notifications").get_data(as_text=True)
    assert 'id="notifications"' in page and " checked" in page
    response = post_form(client, "/account/notifications", {})
    assert response.status_code == 302
    assert not mail.wants_notifications(session, people["editor"])
    page = client.get("/account/notifications").get_data(as_text=True)
    assert " checked>" not in page
    post_form(client, "/account/notifications", {"notifications": "on"})
    session.expire_all()
    assert mail.wants_notifications(session, people["editor"])


def test_send_reminders_mails_the_editors_and_each_link_marks_its_group_checked(
    mail_app, client, session, people
):
    app, inbox = mail_app
    app.config["BASE_URL"] = "https://mapper.example.gov.uk"
    org = people["editor"].organisation_id
    group = make_group(
        session, "Old", (-1.95, 53.45), organisation_id=org, last_verified=date(2020, 1, 1)
    )
    result = invoke(app, "send-reminders")
    assert result.exit_code == 0, result.output
    assert "1 reminders about 1 groups queued" in result.output and "1 sent" in result.output
    [message] = inbox.wait_for(1)
    text = text_of(message)
    assert "https://mapper.example.gov.uk/account/notifications" in text
    [url] = [line for line in text.splitlines() if "/checked/" in line]
    assert url.startswith(f"https://mapper.example.gov.uk/groups/{group.id}/checked/")
    path = "/" + url.split("/", 3)[3]
    page = client.get(path)  # no sign-in needed; a GET changes nothing (mail scanners follow links)
    assert page.status_code == 200 and "Mark as checked today" in page.get_data(as_text=True)
    session.expire_all()
    assert group.last_verified == date(2020, 1, 1)
    response = post_form(client, path, {})
    assert response.status_code == 302
    session.expire_all()
    assert group.last_verified == date.today()
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "verify"))
    assert event.user_id == people["editor"].id
    assert "marked as checked today" in client.get(path).get_data(as_text=True)


def test_a_tampered_check_link_is_a_404_and_another_organisations_editor_a_403(
    client, session, people
):
    group = make_group(
        session, "Old", (-1.95, 53.45), organisation_id=people["editor"].organisation_id
    )
    path = notifications.check_link_path("test-secret-key", group, people["editor"])
    assert client.get(path[:-3] + "abc").status_code == 404
    other = notifications.check_link_path("test-secret-key", group, people["other"])
    assert client.get(other).status_code == 403


def test_send_mail_sends_the_admins_digest_of_what_waits(mail_app, session, people):
    app, inbox = mail_app
    make_group(session, "Waiting", (-1.95, 53.45), status="pending")
    result = invoke(app, "send-mail")
    assert result.exit_code == 0, result.output
    [message] = inbox.wait_for(1)
    assert message["To"] == "admin@council.example"
    assert "New group: Waiting" in text_of(message)


def test_an_approval_made_in_the_browser_is_mailed_after_the_answer(
    mail_app, client, session, people
):
    app, inbox = mail_app

    data = {"name": "Knit and Natter", "categories": ["social-befriending"], "postcode": "TS1 1AA"}
    group, _ = groups.register_group(session, people["editor"], data)
    mail.deliver(session, mail.settings_from(app.config))  # the admins' digest
    inbox.envelopes.clear()
    sign_in(client, "admin@council.example")
    response = post_form(
        client, f"/moderation/groups/{group.id}", {"decision": "approve"}, form_url="/moderation"
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    response.close()
    [message] = inbox.wait_for(1)
    assert message["To"] == "ed@lio.example" and message["Subject"] == "Approved: Knit and Natter"
