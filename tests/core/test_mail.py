"""Mail: queued in the transaction, delivered after it commits, retried after a failure."""

import logging
from datetime import timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

from sqlalchemy import select

from mapper.core import mail
from mapper.store import db
from mapper.store.mail import OutboxMail
from mapper.store.models import utcnow
from tests.conftest import free_port, make_app


def _settings(app):
    return mail.settings_from(app.config)


def test_a_queued_message_goes_over_smtp_as_text_and_html_after_the_commit(mail_app, session):
    app, inbox = mail_app
    with db.transaction(session):
        mail.queue(
            session,
            "ann@example.org",
            "Welcome <to> the map",
            ["Hello & welcome."],
            links=[("Set your password", "http://127.0.0.1:5000/x?a=1&b=2")],
        )
    assert mail.deliver(session, _settings(app)) == (1, 0)
    [message] = inbox.wait_for(1)
    assert message["To"] == "ann@example.org"
    assert message["Subject"] == "Welcome <to> the map"
    assert message["From"] == app.config["MAIL_FROM"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Hello & welcome." in text and "http://127.0.0.1:5000/x?a=1&b=2" in text
    assert "Hello &amp; welcome." in html and "&lt;to&gt;" in html
    assert 'href="http://127.0.0.1:5000/x?a=1&amp;b=2"' in html
    assert session.scalar(select(OutboxMail.sent_at)) is not None
    assert mail.deliver(session, _settings(app)) == (0, 0)  # sent once only


def test_a_rolled_back_change_sends_nothing(mail_app, session):
    app, inbox = mail_app
    try:
        with db.transaction(session):
            mail.queue(session, "ann@example.org", "Subject", ["Body"])
            raise RuntimeError("the use case failed")
    except RuntimeError:
        pass
    assert mail.deliver(session, _settings(app)) == (0, 0)
    assert inbox.envelopes == []


def test_a_failed_send_is_logged_kept_and_retried_later(mail_app, session, caplog):
    app, inbox = mail_app
    working_url = app.config["SMTP_URL"]
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    with db.transaction(session):
        mail.queue(session, "ann@example.org", "Subject", ["Body"])
    with caplog.at_level(logging.WARNING, logger="mapper.mail"):
        assert mail.deliver(session, _settings(app)) == (0, 1)
    assert "not sent, attempt 1" in caplog.text
    row = session.scalar(select(OutboxMail))
    assert row.attempts == 1 and row.sent_at is None and "Connection" in row.last_error
    assert mail.pending_count(session) == 1
    app.config["SMTP_URL"] = working_url
    assert mail.deliver(session, _settings(app)) == (0, 0)  # not due yet
    assert mail.deliver(session, _settings(app), now=utcnow() + timedelta(minutes=3)) == (1, 0)
    assert len(inbox.wait_for(1)) == 1
    assert mail.pending_count(session) == 0


def test_a_message_is_given_up_after_the_last_attempt(mail_app, session):
    app, _ = mail_app
    app.config.update(SMTP_URL=f"smtp://127.0.0.1:{free_port()}", MAIL_MAX_ATTEMPTS=2)
    with db.transaction(session):
        mail.queue(session, "ann@example.org", "Subject", ["Body"])
    mail.deliver(session, _settings(app))
    mail.deliver(session, _settings(app), now=utcnow() + timedelta(minutes=5))
    row = session.scalar(select(OutboxMail))
    assert row.attempts == 2 and row.failed_at is not None
    assert mail.pending_count(session) == 0


def test_the_folder_backend_writes_each_message_as_an_eml_file(app, session, tmp_path):
    app.config.update(MAIL_BACKEND="folder", MAIL_FOLDER=str(tmp_path / "mail"))
    with db.transaction(session):
        mail.queue(session, "ann@example.org", "Subject", ["Body"])
    assert mail.deliver(session, _settings(app)) == (1, 0)
    [path] = (tmp_path / "mail").glob("*.eml")
    message = message_from_bytes(path.read_bytes(), policy=default)
    assert message["To"] == "ann@example.org"
    assert message.get_body(("html",)) is not None


def test_the_demo_mail_folder_is_in_the_instance_folder(spatialite_url):
    app = make_app(spatialite_url)
    assert app.config["MAIL_BACKEND"] == "folder"
    assert app.config["MAIL_FOLDER"] == str(Path(app.instance_path) / "mail")
    app.extensions["mapper.db"].dispose()


def test_mail_queued_outside_a_request_is_sent_as_the_app_context_ends(mail_app):
    app, inbox = mail_app
    with app.app_context():
        session = db.get_session()
        with db.transaction(session):
            mail.queue(session, "ann@example.org", "From a command", ["Body"])
        assert inbox.envelopes == []
    [message] = inbox.wait_for(1)
    assert message["Subject"] == "From a command"
