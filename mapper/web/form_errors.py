"""What went wrong in a form, said as the GOV.UK Design System says it: what to do next.

`mapper.core` names each bad field with a short reason that the JSON API returns as it is;
people get a sentence that tells them what to do, shown beside the field and in the error
summary at the top of the page.
"""

import re

LABELS = {
    "name": "Name of the group",
    "description": "What the group does",
    "categories": "Activities",
    "kind": "Kind of group",
    "location": "Where the group meets",
    "postcode": "Postcode",
    "lon": "Longitude",
    "lat": "Latitude",
    "address": "Address",
    "website": "Website",
    "contact": "Public contact",
    "meeting_times": "When the group meets",
    "charity_number": "Charity number",
    "org_ids": "Org-ids",
    "wards_served": "Other wards",
    "location_precision": "Where the public may see the group",
    "reason": "Reason",
    "ids": "Groups",
    "file": "File",
    "what": "What has happened",
    "note": "What should we know",
    "email": "Your email address",
}


# (field or "*", reason pattern, message): the first that matches says it.
MESSAGES = [
    ("name", r"is required", "Enter the name of the group"),
    ("categories", r"choose at least one", "Choose at least one activity"),
    ("categories", r"unknown", "Choose activities from the list"),
    ("kind", r"must be one of", "Choose a kind of group from the list, or ‘Not known’"),
    ("website", r"must be a web address", "Enter a web address like https://example.org"),
    ("postcode", r"is not a UK postcode", "Enter a real postcode, like M1 1AE"),
    (
        "postcode",
        r"not in the postcode directory",
        "We cannot find that postcode: check it, or choose the place on the map",
    ),
    (
        "postcode",
        r"outside every known ward",
        "That postcode is outside the wards we cover: check it, or choose the place on the map",
    ),
    ("location", r"give a longitude", "Enter a postcode or choose the place on the map"),
    (
        "location",
        r"look swapped",
        "The longitude and latitude look swapped: longitude comes first, like -2.2446",
    ),
    (
        "location",
        r"outside every known ward",
        "The place is outside the wards we cover: choose a place inside one",
    ),
    ("*", r"British National Grid", "Enter degrees, like -2.2446 and 53.4794, not metres"),
    ("lon", r"is required with", "Enter a longitude as well as the latitude, or clear both"),
    ("lat", r"is required with", "Enter a latitude as well as the longitude, or clear both"),
    ("lon", r"must be", "Enter the longitude as a number of degrees, like -2.2446"),
    ("lat", r"must be", "Enter the latitude as a number of degrees, like 53.4794"),
    ("charity_number", r"charity number", "Enter a charity number, like 1234567 or SC012345"),
    ("wards_served", r"unknown", "Choose other wards from the list"),
    ("location_precision", r"must be one of", "Choose where the public may see the group"),
    ("reason", r"is required", "Enter the reason"),
    ("ids", r".", "Choose at least one group"),
    ("what", r"must be one of", "Choose what has happened"),
    ("note", r"is required", "Tell us what has changed"),
    ("email", r"must be an email address", "Enter an email address like name@example.org"),
    ("*", r"must be at most (\d+) characters", "{label} must be {0} characters or fewer"),
]


def message(field, reason):
    """Return the sentence that tells a person how to put a field right."""
    label = LABELS.get(field, field.replace("_", " ").capitalize())
    for name, pattern, text in MESSAGES:
        if name in (field, "*"):
            found = re.search(pattern, reason)
            if found:
                return text.format(*found.groups(), label=label)
    return f"{label} {reason}"


def for_form(fields):
    """Return (messages by field id, [(field id, message)] for the error summary)."""
    messages = {field: message(field, reason) for field, reason in fields.items()}
    order = {field: place for place, field in enumerate(LABELS)}
    summary = sorted(messages.items(), key=lambda item: order.get(item[0], len(order)))
    return messages, summary
