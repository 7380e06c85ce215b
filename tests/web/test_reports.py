"""'Tell us this has changed or closed': anyone's note about a group, mailed over real SMTP to
the group's organisation (else the moderators), rate-limited, never published."""

import time

import pytest
from sqlalchemy import select

from mapper.store.mail import OutboxMail
from tests.factories import make_group, make_user, two_wards
from tests.forms import csrf_token, post_form
from tests.mail import text_of

NOTE = {"what": "closed", "note": "It stopped meeting in May <for good>.", "email": ""}


def _send(client, group, data):
    url = f"/groups/{group.id}/report"
    response = post_form(client, url, data)
    response.close()  # the answer has gone out: the mail is delivered now
    return response


@pytest.fixture
def walkers(session):
    two_wards(session)
    keeper = make_user(session, "keeper@lio.example", organisation="LIO")
    make_user(session, "second@lio.example", organisation="LIO")
    make_user(session, "admin@council.example", "admin", "Council", True)
    return make_group(session, "Walkers", (-2.05, 53.45), organisation_id=keeper.organisation_id)


def test_the_form_needs_no_account_and_mails_the_organisation(mail_app, client, session, walkers):
    _, inbox = mail_app
    page = client.get(f"/groups/{walkers.id}/report")
    assert page.status_code == 200 and "Tell us Walkers has changed or closed" in page.text
    response = _send(client, walkers, {**NOTE, "email": "reader@home.example"})
    assert response.status_code == 302 and response.location == f"/groups/{walkers.id}"
    messages = inbox.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["keeper@lio.example", "second@lio.example"]
    message = messages[0]
    assert message["Reply-To"] == "reader@home.example"
    assert message["Subject"] == "A reader says Walkers has changed or closed"
    text = text_of(message)
    assert "says it has closed or stopped meeting" in text
    assert "It stopped meeting in May <for good>." in text
    assert f"/groups/{walkers.id}/edit" in text
    assert "reader@home.example" not in text  # a Reply-To, not part of the note
    thanked = client.get(f"/groups/{walkers.id}").get_data(as_text=True)
    assert "your note has been sent" in thanked
    assert "stopped meeting in May" not in thanked and "reader@home.example" not in thanked


def test_a_group_of_no_organisation_is_reported_to_the_moderators(mail_app, client, session):
    _, inbox = mail_app
    two_wards(session)
    make_user(session, "editor@lio.example", organisation="LIO")
    make_user(session, "admin@council.example", "admin", "Council", True)
    orphan = make_group(session, "Orphans", (-2.05, 53.45))
    assert _send(client, orphan, NOTE).status_code == 302
    [message] = inbox.wait_for(1)
    assert message["To"] == "admin@council.example" and message["Reply-To"] is None
    assert "They left no address" in text_of(message)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**NOTE, "what": "gone"}, "what"),
        ({**NOTE, "what": ""}, "what"),
        ({**NOTE, "note": "   "}, "note"),
        ({**NOTE, "note": "x" * 2001}, "note"),
        ({**NOTE, "email": "not an address"}, "email"),
    ],
    ids=["unknown-what", "no-what", "blank-note", "long-note", "bad-email"],
)
def test_bad_input_is_a_422_naming_the_field_and_sends_nothing(
    client, session, walkers, data, field
):
    response = _send(client, walkers, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'href="#{field}"' in html and f'id="{field}-error"' in html
    assert session.scalar(select(OutboxMail.id)) is None


def test_an_empty_form_says_what_to_do_in_words(client, session, walkers):
    response = _send(client, walkers, {"what": "", "note": "", "email": "x"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for words in (
        "Choose what has happened",
        "Tell us what has changed",
        "Enter an email address like name@example.org",
    ):
        assert html.count(words) == 2, words  # in the summary and beside the field


def test_a_note_no_database_can_store_is_a_400_naming_it(client, session, walkers):
    response = _send(client, walkers, {**NOTE, "note": "a\x00b"})
    assert response.status_code == 400 and "note" in response.get_data(as_text=True)
    assert session.scalar(select(OutboxMail.id)) is None


def test_the_form_without_its_csrf_token_is_a_400(client, session, walkers):
    response = client.post(f"/groups/{walkers.id}/report", data=NOTE)
    assert response.status_code == 400 and "csrf_token" in response.get_data(as_text=True)
    assert session.scalar(select(OutboxMail.id)) is None


def test_a_filled_in_honeypot_is_thanked_and_sends_nothing(client, session, walkers):
    response = _send(client, walkers, {**NOTE, "website": "http://spam.example"})
    assert response.status_code == 302
    assert session.scalar(select(OutboxMail.id)) is None


@pytest.mark.parametrize("status", ["pending", "closed"])
def test_only_public_groups_can_be_reported(client, session, status):
    two_wards(session)
    group = make_group(session, "Not Public", (-2.05, 53.45), status=status)
    assert client.get(f"/groups/{group.id}/report").status_code == 404
    token = csrf_token(client, "/sign-in")
    response = client.post(f"/groups/{group.id}/report", data={**NOTE, "csrf_token": token})
    assert response.status_code == 404


def test_each_client_may_send_only_so_many_notes(app, client, session, walkers):
    app.config["RATE_LIMIT_REPORT"] = "2 per minute"
    assert [_send(client, walkers, NOTE).status_code for _ in range(2)] == [302, 302]
    refused = _send(client, walkers, NOTE)
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert client.get(f"/groups/{walkers.id}/report").status_code == 200  # reading is free
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"  # another client's address
    assert _send(other, walkers, NOTE).status_code == 302
    assert len(session.scalars(select(OutboxMail)).all()) == 3 * 2  # two keepers each time


def test_the_readers_address_is_kept_only_as_the_mails_reply_to_until_it_is_sent(
    app, client, session, walkers
):
    app.config["MAIL_BACKEND"] = "smtp"  # to nowhere: the messages wait in the outbox
    app.config["SMTP_URL"] = "smtp://127.0.0.1:9"
    _send(client, walkers, {**NOTE, "email": "reader@home.example"})
    session.expire_all()
    rows = session.scalars(select(OutboxMail)).all()
    assert len(rows) == 2 and all(r.sent_at is None for r in rows)
    assert all(r.reply_to == "reader@home.example" for r in rows)
    assert all("reader@home.example" not in r.body_text + r.body_html for r in rows)


def test_once_sent_the_readers_address_is_kept_nowhere(mail_app, client, session, walkers):
    _, inbox = mail_app
    _send(client, walkers, {**NOTE, "email": "reader@home.example"})
    assert {m["Reply-To"] for m in inbox.wait_for(2)} == {"reader@home.example"}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        session.expire_all()
        rows = session.scalars(select(OutboxMail)).all()
        if all(r.sent_at for r in rows):
            break
        time.sleep(0.05)
    assert rows and all(r.sent_at and r.reply_to is None for r in rows)
