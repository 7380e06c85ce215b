"""Mail: queue messages inside a use case's transaction, deliver them after it commits.

A message is a row of the outbox first, written in the same transaction as the change it
tells of, so a rolled-back change sends nothing. `deliver` sends what is due; a failure is
logged and retried later with a growing wait, so no user ever sees it.
"""

import logging
from datetime import timedelta

from sqlalchemy import func, select, update

from mapper.core import audit
from mapper.io import mail as mail_io
from mapper.store import db
from mapper.store.mail import MailPreference, OutboxMail
from mapper.store.models import utcnow

log = logging.getLogger("mapper.mail")

QUEUED = "mapper.mail_queued"  # set in session.info when a message is queued
# A link given as a path ("/groups/3") is stored with this mark before it, which delivery
# replaces with BASE_URL: use cases need not know where the app is served.
BASE_MARK = "{{BASE_URL}}"
CLAIM_MINUTES = 10  # a message being sent is not picked up by another sender meanwhile
BATCH = 200


def queue(session, to, subject, paragraphs, links=(), kind="essential", user=None, reply_to=None):
    """Add a message to the outbox in the current transaction; return it.

    `kind` "notification" marks a non-essential mail: it is skipped (None) when `user`
    has turned notifications off. `reply_to` is the address an answer goes to.
    """
    if kind == "notification" and user is not None and not wants_notifications(session, user):
        return None
    links = [(label, BASE_MARK + url if url.startswith("/") else url) for label, url in links]
    message = OutboxMail(
        to_address=to,
        reply_to=reply_to,
        subject=subject,
        body_text=mail_io.render_text(paragraphs, links),
        body_html=mail_io.render_html(subject, paragraphs, links),
        kind=kind,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(message)
    session.info[QUEUED] = True
    return message


def settings_from(config):
    """Return the mail settings out of the app's configuration."""
    keys = (
        "MAIL_BACKEND",
        "SMTP_URL",
        "MAIL_FOLDER",
        "MAIL_FROM",
        "MAIL_MAX_ATTEMPTS",
        "BASE_URL",
    )
    return {key: config.get(key) for key in keys}


def _claim(session, message_id, now):
    """Take the message for this sender; False when another sender has it or it is sent."""
    claimed = session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == message_id, OutboxMail.sent_at.is_(None))
        .where(OutboxMail.failed_at.is_(None), OutboxMail.next_attempt_at <= now)
        .values(next_attempt_at=now + timedelta(minutes=CLAIM_MINUTES))
    )
    session.commit()
    return claimed.rowcount == 1


def deliver(session, settings, now=None):
    """Send every message that is due; return (sent, failed). Never raises for a send."""
    now = now or utcnow()
    if session.in_transaction():
        session.commit()
    due = list(
        session.scalars(
            select(OutboxMail.id)
            .where(OutboxMail.sent_at.is_(None), OutboxMail.failed_at.is_(None))
            .where(OutboxMail.next_attempt_at <= now)
            .order_by(OutboxMail.id)
            .limit(BATCH)
        )
    )
    session.commit()
    sent = failed = 0
    for message_id in due:
        if not _claim(session, message_id, now):
            continue
        row = session.get(OutboxMail, message_id)
        base = (settings.get("BASE_URL") or "").rstrip("/")
        text, html = (body.replace(BASE_MARK, base) for body in (row.body_text, row.body_html))
        message = mail_io.build_message(
            settings["MAIL_FROM"], row.to_address, row.subject, text, html, row.reply_to
        )
        try:
            mail_io.send(
                message, settings["MAIL_BACKEND"], settings["SMTP_URL"], settings["MAIL_FOLDER"]
            )
        except mail_io.MailError as error:
            failed += 1
            _failed(session, row, error, settings.get("MAIL_MAX_ATTEMPTS") or 8)
        else:
            sent += 1
            with db.transaction(session):
                row.sent_at, row.attempts = utcnow(), row.attempts + 1
                row.reply_to = None  # a reader's address: kept no longer than needed
    return sent, failed


def _failed(session, row, error, max_attempts):
    """Note the failure and when to try again (2, 4, 8… minutes), or give up."""
    with db.transaction(session):
        row.attempts += 1
        row.last_error = str(error)[:2000]
        row.next_attempt_at = utcnow() + timedelta(minutes=2**row.attempts)
        if row.attempts >= max_attempts:
            row.failed_at = utcnow()
            row.reply_to = None
    log.warning(
        "mail %s (%r) not sent, attempt %s%s: %s",
        row.id,
        row.subject,
        row.attempts,
        ", giving up" if row.failed_at else "",
        error,
    )


def pending_count(session):
    """Return how many messages are waiting to be sent (or retried)."""
    query = select(func.count()).where(OutboxMail.sent_at.is_(None), OutboxMail.failed_at.is_(None))
    return session.scalar(query)


# Preferences -------------------------------------------------------------------------------


def wants_notifications(session, user):
    """Return whether the user receives the non-essential mails (yes unless turned off)."""
    preference = session.get(MailPreference, user.id)
    return preference is None or preference.notifications


def set_notifications(session, user, wanted):
    """Turn the user's non-essential mails on or off."""
    with db.transaction(session):
        preference = session.get(MailPreference, user.id)
        if preference is None:
            preference = MailPreference(user_id=user.id, notifications=True)
            session.add(preference)
        if preference.notifications != bool(wanted):
            preference.notifications = bool(wanted)
            changes = {"notifications": bool(wanted)}
            audit.record(session, "preferences", user, user=user, changes=changes)
