"""Helpers for tests that read the mail the app sent."""

import re

LINK = re.compile(r"(https?://\S+?/(?:invitations|reset-password)/[A-Za-z0-9_-]+)")


def text_of(message):
    """Return the plain-text part of a received message."""
    return message.get_body(("plain",)).get_content()


def link_in(message):
    """Return the single-use link a message carries."""
    match = LINK.search(text_of(message))
    assert match, text_of(message)
    return match.group(1)


def path_of(url):
    """Return the path of a link, for the test client."""
    return "/" + url.split("/", 3)[3]
