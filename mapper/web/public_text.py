"""How the public pages write what they show: contacts as mail and phone links, dates in words.

Registered as template filters: `contact_parts` and `long_date`.
"""

import re
from datetime import date, datetime

EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# A UK number as people write it: 0161 496 0000, (0161) 496 0000, +44 161 496 0000, 07700 900123.
PHONE = re.compile(r"(?<![\w+])(?:\+44\s?(?:\(0\))?\s?|\(?0)\d[\d\s()-]{7,14}\d(?!\w)")
PHONE_DIGITS = range(10, 13)  # 01614960000, 441614960000


def phone_href(text):
    """Return the tel: link of a UK number as written, or None when it is not one."""
    digits = re.sub(r"\D", "", text.replace("(0)", ""))
    if len(digits) not in PHONE_DIGITS:
        return None
    if digits.startswith("44"):
        return f"tel:+{digits}"
    return f"tel:+44{digits[1:]}" if digits.startswith("0") else None


def contact_parts(text):
    """Return [(text, href or None)] of a public contact: each email address a mailto:
    link, each UK phone number a tel: link, the words around them as they were."""
    if not text:
        return []
    found = [(m.start(), m.end(), f"mailto:{m.group()}") for m in EMAIL.finditer(text)]
    for match in PHONE.finditer(text):
        href = phone_href(match.group())
        inside_email = any(start <= match.start() < end for start, end, _ in found)
        if href and not inside_email:
            found.append((match.start(), match.end(), href))
    parts, at = [], 0
    for start, end, href in sorted(found):
        if start > at:
            parts.append((text[at:start], None))
        parts.append((text[start:end], href))
        at = end
    if at < len(text):
        parts.append((text[at:], None))
    return parts


def long_date(value):
    """Return a date as people write it, "3 March 2025"; an ISO text date is read first."""
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    return f"{value.day} {value:%B %Y}"


def init_app(app):
    """Register the filters."""
    app.add_template_filter(contact_parts, "contact_parts")
    app.add_template_filter(long_date, "long_date")
