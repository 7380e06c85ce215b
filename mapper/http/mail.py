"""Mail queued by a request is delivered once its answer has gone out.

The use case has committed by then, so only committed changes are told of; the answer is
not slowed by the mail server (nor does its speed tell whether a message was sent), and a
failure is logged and left in the outbox for the next delivery, never shown to the user.
"""

import logging
from pathlib import Path

from flask import after_this_request, current_app, has_request_context

from mapper.core import mail
from mapper.store import db

log = logging.getLogger("mapper.mail")


def deliver_now(app):
    """Send what the outbox holds that is due, in a session of its own."""
    with app.app_context():
        session = app.extensions["mapper.db"].Session()
        try:
            mail.deliver(session, mail.settings_from(app.config))
        except Exception:
            log.exception("delivering mail failed; it stays in the outbox")
        finally:
            session.close()


def after_answer(work, *args):
    """Run `work(session, *args)` once this request's answer has gone out, in a session of
    its own, then deliver the mail it queued; a failure is logged, never shown.

    For work whose duration must not show in the answer (asking for a password reset takes
    as long for an unknown address as for a known one).
    """
    app = current_app._get_current_object()

    def run():
        with app.app_context():
            session = app.extensions["mapper.db"].Session()
            try:
                work(session, *args)
            except Exception:
                log.exception("work after the answer failed")
            finally:
                session.close()
        deliver_now(app)

    @after_this_request
    def schedule(response):
        response.call_on_close(run)
        return response


def _deliver_after_response(response):
    session = db.request_session()
    if session is not None and session.info.pop(mail.QUEUED, False):
        app = current_app._get_current_object()
        response.call_on_close(lambda: deliver_now(app))
    return response


def _deliver_left_over(_exc):
    # A command (say `mapper invite`) queued mail outside any request: send it as it ends.
    if has_request_context():
        return
    session = db.request_session()
    if session is not None and session.info.pop(mail.QUEUED, False):
        deliver_now(current_app._get_current_object())


def init_app(app):
    """Choose the mail folder; deliver queued mail after each answer, or as a command ends."""
    if not app.config.get("MAIL_FOLDER"):
        app.config["MAIL_FOLDER"] = str(Path(app.instance_path) / "mail")
    app.after_request(_deliver_after_response)
    app.teardown_appcontext(_deliver_left_over)
