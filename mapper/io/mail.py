"""Mail out: a message as plain text plus HTML, sent over SMTP or written to a folder.

Writes no database; `core/mail.py` keeps the outbox and decides what to send when.
"""

import html
import smtplib
import ssl
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

BACKENDS = ("smtp", "folder")
SMTP_TIMEOUT = 20  # seconds


class MailError(RuntimeError):
    """The message could not be handed over; it stays in the outbox to be retried."""


def render_html(subject, paragraphs, links=()):
    """Return the HTML body: each paragraph and link escaped, links as anchors."""
    parts = [f"<h1>{html.escape(subject)}</h1>"]
    parts += [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    parts += [
        f'<p><a href="{html.escape(url, quote=True)}">{html.escape(label)}</a></p>'
        for label, url in links
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head><body>{''.join(parts)}</body></html>"
    )


def render_text(paragraphs, links=()):
    """Return the plain-text body: paragraphs, then each link's label and address."""
    return "\n\n".join([*paragraphs, *(f"{label}:\n{url}" for label, url in links)]) + "\n"


def build_message(sender, to, subject, text, html_body, reply_to=None):
    """Return an EmailMessage with a plain-text part and an HTML alternative."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    if reply_to:
        message["Reply-To"] = reply_to
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    message.set_content(text)
    message.add_alternative(html_body, subtype="html")
    return message


def _smtp_settings(url):
    """Parse smtp://user:password@host:port (STARTTLS with ?starttls=1) or smtps://host:port."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise MailError(f"SMTP_URL must look like smtp://host:port, not {parts.scheme}://…")
    query = parse_qs(parts.query)
    return {
        "secure": parts.scheme == "smtps",
        "starttls": query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes"),
        "host": parts.hostname,
        "port": parts.port or (465 if parts.scheme == "smtps" else 25),
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
    }


def send_smtp(message, url):
    """Hand the message to the SMTP server of `url`; MailError when it cannot."""
    settings = _smtp_settings(url)
    try:
        if settings["secure"]:
            context = ssl.create_default_context()
            client = smtplib.SMTP_SSL(
                settings["host"], settings["port"], timeout=SMTP_TIMEOUT, context=context
            )
        else:
            client = smtplib.SMTP(settings["host"], settings["port"], timeout=SMTP_TIMEOUT)
        with client:
            if settings["starttls"]:
                client.starttls(context=ssl.create_default_context())
            if settings["username"]:
                client.login(settings["username"], settings["password"] or "")
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(f"{type(error).__name__}: {error}") from error


def write_to_folder(message, folder):
    """Write the message as an .eml file in `folder` (the demo's mail); return its path."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(message.as_bytes())
    except OSError as error:
        raise MailError(f"{type(error).__name__}: {error}") from error
    return path


def send(message, backend, smtp_url=None, folder=None):
    """Send the message by the configured backend (`smtp` or `folder`)."""
    if backend == "smtp":
        if not smtp_url:
            raise MailError("MAIL_BACKEND is smtp but SMTP_URL is not set")
        send_smtp(message, smtp_url)
    elif backend == "folder":
        write_to_folder(message, folder)
    else:
        raise MailError(f"MAIL_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
