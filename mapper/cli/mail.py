"""Commands for mail: send-mail (deliver, retry, admins' digests) and send-reminders."""

import click
from flask import current_app
from flask.cli import with_appcontext

from mapper.core import mail, notifications
from mapper.store import db


def _deliver(session):
    sent, failed = mail.deliver(session, mail.settings_from(current_app.config))
    click.echo(f"{sent} sent, {failed} failed, {mail.pending_count(session)} waiting")
    return failed


@click.command("send-mail")
@with_appcontext
def send_mail():
    """Send the waiting mail, retry failed sends that are due and the admins' digests; for cron."""
    session = db.get_session()
    with db.transaction(session):
        notifications.digest_admins(session)
    if _deliver(session):
        raise SystemExit(1)


@click.command("send-reminders")
@with_appcontext
def send_reminders():
    """Mail each organisation's editors their groups not checked in 12 months; for cron."""
    session = db.get_session()
    mails, groups = notifications.send_reminders(session, current_app.config["SECRET_KEY"])
    click.echo(f"{mails} reminders about {groups} groups queued")
    if _deliver(session):
        raise SystemExit(1)
