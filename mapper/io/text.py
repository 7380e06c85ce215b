"""What text may be stored, whoever sends it: the API, a form or an imported file.

PostgreSQL refuses a NUL byte and no driver can encode a lone surrogate, while SQLite would
store both; checking here, before either backend sees the text, makes them behave the same.
"""

import re
import unicodedata
from urllib.parse import urlsplit

# Characters that draw nothing: controls, format characters (zero-width space, joiners,
# direction marks), separators, and the few letters and symbols that are blank by design.
INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"}
BLANK_CHARACTERS = set("\u115f\u1160\u2800\u3164\uffa0")

# The longest the unbounded (TEXT) columns may be, from the API, a form or a file alike;
# the others are as long as their column.
LONGEST_TEXT = {
    "description": 5000,
    "address": 500,
    "meeting_times": 1000,
    "opening_hours": 1000,
    "eligibility": 1000,
}
SURROGATE = re.compile("[\ud800-\udfff]")
WEB_ADDRESS_REASON = "must be a web address starting with http:// or https://"


def is_invisible(character):
    """Tell whether a character draws nothing on the page."""
    return character in BLANK_CHARACTERS or unicodedata.category(character) in INVISIBLE_CATEGORIES


def text_problem(value):
    """Return why `value` cannot be stored as text (NUL byte, lone surrogate), or None."""
    if "\x00" in value:
        return "must not contain NUL bytes"
    if SURROGATE.search(value):
        return "must be valid Unicode (it has a lone surrogate)"
    return None


def clean_text(value, longest=None, required=False):
    """Return (stripped text or None, reason it is not acceptable or None).

    Text made only of invisible characters counts as no text: None, or a reason when
    `required`. `longest` is counted in characters after stripping.
    """
    problem = text_problem(value)
    if problem:
        return None, problem
    value = value.strip()
    if value and all(is_invisible(c) for c in value):
        if required:
            return None, "is made only of invisible characters"
        return None, None
    if longest is not None and len(value) > longest:
        return None, f"must be at most {longest} characters"
    if required and not value:
        return None, "is required"
    return value or None, None


def web_address_problem(value):
    """Return why `value` is not an http(s) web address (javascript:, data:…), or None."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or "." not in parts.netloc or " " in value:
        return WEB_ADDRESS_REASON
    return None
