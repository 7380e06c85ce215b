"""What a valid group is: the fields a form or the API may send, checked and normalised."""

import math
import re

from mapper import geo
from mapper.core.wards import find_ward
from mapper.errors import Invalid
from mapper.io.identifiers import parse_org_ids
from mapper.io.text import LONGEST_TEXT, clean_text, web_address_problem
from mapper.store.models import Postcode
from mapper.store.queries import categories_by_slug, current_wards_by_code

GROUP_KINDS = (
    "charity",
    "cic",
    "community association",
    "faith group",
    "informal group",
    "mutual aid",
)


# The kinds as people write them, for forms and pages.
KIND_LABELS = {kind: "CIC" if kind == "cic" else kind.capitalize() for kind in GROUP_KINDS}


# The location precisions as the forms offer them (geo.PRECISIONS).
PRECISION_LABELS = {
    "exact": "At its exact place (the usual choice)",
    "approximate": "Approximately: at the centre of its 1 km grid square, with no address",
    "hidden": "Not on the map: in its ward only, with no address",
}


POSTCODE_FORMAT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$")


BNG_REASON = (
    "looks like British National Grid easting/northing in metres; send WGS84 longitude and latitude"
)


CHARITY_NUMBER_FORMAT = re.compile(r"^(SC|NIC?)?\d{5,8}(-\d{1,2})?$")


# The text fields of a group by the name the API and the forms use: (column, longest).
GROUP_TEXT_FIELDS = {
    "name": ("name", 300),
    "description": ("description", LONGEST_TEXT["description"]),
    "kind": ("kind", 60),
    "address": ("address", LONGEST_TEXT["address"]),
    "website": ("website", 500),
    "contact": ("contact_public", 300),
    "meeting_times": ("meeting_times", LONGEST_TEXT["meeting_times"]),
    "charity_number": ("charity_number", 20),
}


GROUP_FIELDS = (
    *GROUP_TEXT_FIELDS,
    "categories",
    "wards_served",
    "postcode",
    "lon",
    "lat",
    "location_precision",
    "org_ids",
)


# Fields a client may read but never send: derived from the location, or set by moderation.
GROUP_READ_ONLY = (
    "id",
    "ward",
    "ward_code",
    "ward_name",
    "status",
    "organisation",
    "last_verified",
    "active_from",
    "active_until",
    "close_reason",
    "created_at",
    "updated_at",
)


READ_ONLY_REASON = "cannot be set: it is derived or decided by moderation"


def _text(value, longest, required=False):
    """Return (stripped text or None, reason it is not acceptable or None).

    Text made only of invisible characters counts as none, or is refused when `required`.
    """
    if value is None:
        return None, None
    if not isinstance(value, str):
        return None, "must be text"
    return clean_text(value, longest, required=required and bool(value.strip()))


def _slugs(value, upper=False):
    """Return (sorted unique list of strings, reason) from a list (API) or list of form values."""
    if value is None:
        return [], None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None, "must be a list of text values"
    items = {v.strip().upper() if upper else v.strip() for v in value if v.strip()}
    return sorted(items), None


def _clean_list(session, data, field, errors, values):
    """Check `categories` (slugs) or `wards_served` (ward codes) against what is stored."""
    wards = field == "wards_served"
    items, reason = _slugs(data.get(field), upper=wards)
    if reason is None and not wards and not items:
        reason = "choose at least one category"
    if reason is None:
        try:
            (current_wards_by_code if wards else categories_by_slug)(session, items)
        except KeyError as unknown:
            reason = f"unknown {'ward code' if wards else 'category'}: {unknown.args[0]}"
    if reason:
        errors[field] = reason
    else:
        values[field] = items


def _number(value):
    """Return (float, reason) from a JSON number or a form's text."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None, "must be a number"
    try:
        number = float(value)
    except ValueError:
        return None, "must be a number"
    if not math.isfinite(number):
        return None, "must be a finite number"
    return number, None


def _check_lonlat(session, lonlat):
    """Return {field: reason} for a lon/lat point that is not inside a known ward."""
    lon, lat = lonlat
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        if geo.looks_like_bng(lon, lat):
            return {"lon": BNG_REASON, "lat": BNG_REASON}
        errors = {}
        if not -180 <= lon <= 180:
            errors["lon"] = "must be a WGS84 longitude between -180 and 180"
        if not -90 <= lat <= 90:
            errors["lat"] = "must be a WGS84 latitude between -90 and 90"
        return errors
    if find_ward(session, lonlat) is not None:
        return {}
    if -90 <= lon <= 90 and find_ward(session, (lat, lon)) is not None:
        return {"location": "is outside every known ward; longitude and latitude look swapped"}
    return {"location": "is outside every known ward"}


def _clean_location(session, data, partial, errors):
    """Return the [lon, lat] the data gives (by lon/lat, else by postcode), or None."""
    given = {k: data.get(k) for k in ("lon", "lat") if data.get(k) not in (None, "")}
    if given:
        for key in ("lon", "lat"):
            if key not in given:
                errors[key] = "is required with " + ("lat" if key == "lon" else "lon")
        numbers = {}
        for key, value in given.items():
            numbers[key], reason = _number(value)
            if reason:
                errors[key] = reason
        if any(k in errors for k in ("lon", "lat")):
            return None
        lonlat = [
            round(numbers["lon"], geo.COORDINATE_DECIMALS),
            round(numbers["lat"], geo.COORDINATE_DECIMALS),
        ]
        problems = _check_lonlat(session, lonlat)
        errors.update(problems)
        return None if problems else lonlat
    postcode = data.get("postcode")
    if isinstance(postcode, str) and postcode.strip() and "postcode" not in errors:
        found = session.get(Postcode, Postcode.normalise(postcode))
        if found is None:
            errors["postcode"] = "is not in the postcode directory"
            return None
        lonlat = [
            round(found.lon, geo.COORDINATE_DECIMALS),
            round(found.lat, geo.COORDINATE_DECIMALS),
        ]
        if _check_lonlat(session, lonlat):
            errors["postcode"] = "is outside every known ward"
            return None
        return lonlat
    if not partial and "postcode" not in errors:
        errors["location"] = "give a longitude and latitude, or a postcode"
    return None


def place_of(session, data):
    """Return where a group with this postcode or lon/lat would be: ([lon, lat], Ward).

    Raises Invalid naming the field when neither gives a place inside a current ward.
    """
    errors = {}
    lonlat = _clean_location(session, data, False, errors)
    if lonlat is None:
        raise Invalid("That is not a place inside a known ward.", fields=errors)
    return lonlat, find_ward(session, lonlat)


def clean_group(session, data, partial=False):
    """Check a group as sent by a form or the API; return the values to store.

    Raises Invalid naming every bad field. With `partial` (an edit) only the fields sent are
    checked and returned. The values are plain JSON (a PendingChange holds them): `lonlat`
    stands for lon/lat or the postcode's centroid, lists are sorted slugs, ward codes and
    normalised org-ids.
    """
    if not isinstance(data, dict):
        raise Invalid("A group must be a JSON object.", fields={"body": "must be an object"})
    errors, values = {}, {}
    for key in data:
        if key in GROUP_READ_ONLY:
            errors[key] = READ_ONLY_REASON
        elif key not in GROUP_FIELDS:
            errors[key] = "is not a field of a group"
    for field, (_column, longest) in GROUP_TEXT_FIELDS.items():
        if field not in data:
            continue
        value, reason = _text(data[field], longest, required=field == "name")
        if value is not None and reason is None:
            value, reason = _normalise_text(field, value)
        if reason:
            errors[field] = reason
        else:
            values[field] = value
    if (not partial or "name" in data) and values.get("name") is None and "name" not in errors:
        errors["name"] = "is required"
    if "postcode" in data:
        postcode, reason = _text(data["postcode"], 20)
        if postcode is not None:
            postcode = Postcode.normalise(postcode)
            reason = reason or (None if POSTCODE_FORMAT.match(postcode) else "is not a UK postcode")
        if reason:
            errors["postcode"] = reason
        else:
            values["postcode"] = postcode
    if not partial or "categories" in data:
        _clean_list(session, data, "categories", errors, values)
    if "wards_served" in data:
        _clean_list(session, data, "wards_served", errors, values)
    if "location_precision" in data:
        precision, reason = _clean_precision(data["location_precision"])
        if reason:
            errors["location_precision"] = reason
        else:
            values["location_precision"] = precision
    if "org_ids" in data:
        org_ids, reason = parse_org_ids(data["org_ids"])
        if reason:
            errors["org_ids"] = reason
        else:
            values["org_ids"] = org_ids
    lonlat = _clean_location(session, data, partial, errors)
    if lonlat is not None:
        values["lonlat"] = lonlat
    if errors:
        raise Invalid(
            "The group has invalid fields: " + ", ".join(sorted(errors)) + ".", fields=errors
        )
    return values


def _clean_precision(value):
    """Return (location precision, None) or (None, the reason it is not one)."""
    if not isinstance(value, str) or value not in geo.PRECISIONS:
        return None, "must be one of: " + ", ".join(geo.PRECISIONS)
    return value, None


def _normalise_text(field, value):
    """Return (value in its stored form, reason it is not acceptable) for a text field."""
    if field == "kind":
        value = value.lower()
        if value not in GROUP_KINDS:
            return None, "must be one of: " + ", ".join(GROUP_KINDS)
    if field == "website" and web_address_problem(value):
        return None, web_address_problem(value)
    if field == "charity_number":
        value = value.upper().replace(" ", "")
        if not CHARITY_NUMBER_FORMAT.match(value):
            return None, "is not a charity number such as 1234567 or SC012345"
    return value, None
