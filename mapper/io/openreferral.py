"""Reading an Open Referral UK feed (HSDS 3.0, UK profile) into a `Reading` of service rows.

A feed is a URL (its root, or its `/services`) or a file. From a URL every page of
`/services` is fetched (`page`, `per_page`, until `total_pages`), and each listed service in
full from `/services/{id}` when the list holds only its one-to-one fields. A file holds one
page, a list of full services or one full service. A page that cannot be read or is not a
page is skipped and reported by its number and address; so is a service that cannot be
fetched or mapped; the rest is read. Nothing here writes to the database: the category
vocabulary and the postcode look-up are passed in.

Each service becomes the column values of a Service row, with `external_id`
"oruk:<source>:<id>", so that a re-import finds the same records; docs/openreferral.md maps
every field.
"""

import json
import math
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from shapely.geometry import MultiPolygon, Point, Polygon, shape

from mapper.errors import Invalid
from mapper.io.columns import POSTCODE, shorten, text
from mapper.io.identifiers import normalise_org_id
from mapper.io.reading import Reading
from mapper.io.text import clean_text, web_address_problem
from mapper.store.models import Postcode, Service

PER_PAGE = 100  # services asked for per page of a feed
MAX_PAGES = 10_000  # a feed claiming more pages than this is refused, not followed
MAX_BYTES = 50 * 1024 * 1024  # the largest answer read from a feed
TIMEOUT = 60  # seconds to wait for one answer
PREFIX = "oruk"  # external ids of imported services: oruk:<source>:<id>


class FeedError(Exception):
    """One answer of a feed that cannot be read: why, in words."""


def is_url(source):
    """Tell whether a feed is given by its address rather than a file."""
    return urlsplit(str(source)).scheme in ("http", "https")


def source_label(source):
    """Return the default name of a feed's source: the URL's host and path, else the file's stem."""
    if is_url(source):
        parts = urlsplit(str(source))
        path = parts.path.rstrip("/").removesuffix("/services").strip("/")
        return "/".join(p for p in (parts.netloc, path) if p)
    return Path(source).stem


def fetch_json(url):
    """Return the JSON document at a URL; raise FeedError saying why it cannot be read."""
    if not is_url(url):
        raise FeedError("is not an http(s) address")
    headers = {"Accept": "application/json", "User-Agent": "community-mapper"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http(s), checked above)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
            body = answer.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise FeedError(f"HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        raise FeedError(f"cannot be fetched ({getattr(error, 'reason', error)})") from None
    if len(body) > MAX_BYTES:
        raise FeedError(f"is larger than {MAX_BYTES // (1024 * 1024)} MB")
    return parse_json(body)


def parse_json(body):
    """Return a JSON document; raise FeedError when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise FeedError(f"is not JSON ({error})") from None


def page_contents(document):
    """Return (services, total pages) of a page; raise FeedError when it is not a page."""
    if not isinstance(document, dict) or not isinstance(document.get("contents"), list):
        raise FeedError("is not an Open Referral page (no list of contents)")
    pages = document.get("total_pages", 1)
    if not isinstance(pages, int) or isinstance(pages, bool) or pages < 0:
        raise FeedError(f"has a total_pages that is not a count ({shorten(str(pages))})")
    return document["contents"], pages


def read_feed(source, label=None, vocabulary=None, find_postcodes=None, fetch=fetch_json):
    """Read a feed (a URL or a file) into a Reading of Service rows.

    `label` names the source in the external ids (by default `source_label`). `vocabulary`
    maps category slugs and lower-case names to slugs; `find_postcodes(postcodes) ->
    {postcode: (lon, lat)}` locates services that give a postcode but no point. The reading's
    `complete` says whether every page and service was read (only then may the import retire
    the source's services that are no longer in it), and `listed` holds the external id of
    every service the feed lists, read or rejected.
    """
    label = label or source_label(source)
    reading = Reading(str(source))
    reading.complete, reading.listed = True, set()
    services = []  # (where, service)
    if is_url(source):
        services = _read_pages(str(source), reading, fetch)
    else:
        try:
            document = parse_json(Path(source).read_bytes())
        except (OSError, FeedError) as error:
            raise Invalid(f"{source}: {error}") from None
        if isinstance(document, list):
            listed = document
        elif isinstance(document, dict) and "contents" not in document:
            listed = [document]
        else:
            try:
                listed = page_contents(document)[0]
            except FeedError as error:
                raise Invalid(f"{source}: {error}") from None
        services = [(f"service {n}", item) for n, item in enumerate(listed, 1)]
    postcodes = {}
    if find_postcodes is not None:
        wanted = {code for _, item in services for code in [_postcode(item)] if code}
        postcodes = find_postcodes(sorted(wanted))
    for index, (where, item) in enumerate(services):
        if isinstance(item, dict) and text(item.get("id")):
            reading.listed.add(f"{PREFIX}:{label}:{text(item.get('id'))}")
        try:
            values, reason = service_values(item, label, vocabulary or {}, postcodes)
        except (TypeError, AttributeError, ValueError):  # a field of the wrong JSON type
            values, reason = None, "is not a well-formed Open Referral service"
        if reason:
            reading.reject(index, where, reason)
        else:
            reading.accept(index, where, values)
    reading.notes.append(f"read {len(services)} services from the feed as source '{label}'")
    return reading


def _read_pages(url, reading, fetch):
    """Return (where, full service) for every service of every page of a feed."""
    base = url.rstrip("/").removesuffix("/services")
    services, number, pages = [], 1, 1
    while number <= pages:
        address = f"{base}/services?{urlencode({'page': number, 'per_page': PER_PAGE})}"
        where = f"page {number}"
        try:
            listed, total = page_contents(fetch(address))
        except FeedError as error:
            reading.complete = False
            reading.reject(len(services), where, f"skipped: {address} {error}")
            if number == 1:
                raise Invalid(
                    f"{url}: the first page {error}, so the feed's pages are unknown: "
                    "nothing was read"
                ) from None
            number += 1
            continue
        if number == 1:
            if total > MAX_PAGES:
                raise Invalid(f"{url}: the feed claims {total} pages (at most {MAX_PAGES})")
            pages = total
        for position, item in enumerate(listed, 1):
            label = f"{where}, service {position}"
            if isinstance(item, dict) and "service_at_locations" not in item and item.get("id"):
                full_address = f"{base}/services/{quote(str(item['id']), safe='')}"
                try:
                    item = fetch(full_address)
                except FeedError as error:
                    reading.complete = False
                    reading.reject(len(services), label, f"skipped: {full_address} {error}")
                    continue
            services.append((label, item))
        number += 1
    return services


def _postcode(item):
    """Return the UK postcode of a service's first address (normalised), or None."""
    for address in _addresses(item):
        code = Postcode.normalise(text(address.get("postal_code")))
        if POSTCODE.fullmatch(code):
            return code
    return None


def _locations(item):
    if not isinstance(item, dict):
        return []
    return [
        at["location"]
        for at in item.get("service_at_locations") or []
        if isinstance(at, dict) and isinstance(at.get("location"), dict)
    ]


def _addresses(item):
    return [
        address
        for location in _locations(item)
        for address in location.get("addresses") or []
        if isinstance(address, dict)
    ]


def _point(item, postcodes):
    """Return the service's point: its first location's coordinates, else its postcode."""
    for location in _locations(item):
        lat, lon = location.get("latitude"), location.get("longitude")
        if lat is None and lon is None:
            continue
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in (lat, lon)):
            return None, "the location's latitude and longitude are not numbers"
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None, f"the location's latitude {lat}, longitude {lon} are out of range"
        return Point(lon, lat), None
    code = _postcode(item)
    if code and code in postcodes:
        return Point(*postcodes[code]), None
    if code:
        return None, f"no coordinates, and the postcode {shorten(code)} is not in our directory"
    return None, "no location with coordinates or a postcode"


def _text(value, column, name):
    """Return (text fitting the column or None, reason)."""
    if value is not None and not isinstance(value, str):
        return None, f"{name} is not text"
    longest = Service.__table__.c[column].type.length
    cleaned, reason = clean_text(value or "", longest)
    return cleaned, (f"{name} {reason}" if reason else None)


def _area(item):
    """Return the first GeoJSON service area as a MultiPolygon, or None."""
    for area in item.get("service_areas") or []:
        if not isinstance(area, dict) or area.get("extent_type") != "geojson":
            continue
        try:
            geometry = shape(json.loads(area.get("extent") or ""))
        except (ValueError, TypeError, AttributeError, KeyError):
            continue
        if isinstance(geometry, Polygon):
            geometry = MultiPolygon([geometry])
        if isinstance(geometry, MultiPolygon) and geometry.is_valid and not geometry.is_empty:
            return geometry
    return None


def service_values(item, label, vocabulary, postcodes):
    """Return (Service column values of one ORUK service, None) or (None, why not)."""
    if not isinstance(item, dict):
        return None, "is not a service object"
    identifier = text(item.get("id"))
    name = text(item.get("name")) if isinstance(item.get("name"), str) else ""
    named = f" ({shorten(name)})" if name else ""
    if not identifier:
        return None, "a service without an id" + named
    external_id = f"{PREFIX}:{label}:{identifier}"
    if len(external_id) > Service.__table__.c.external_id.type.length:
        return None, f"the id {shorten(identifier)} and source are too long to keep"
    values = {"external_id": external_id}
    organization = item.get("organization") if isinstance(item.get("organization"), dict) else {}
    schedule = next((s for s in item.get("schedules") or [] if isinstance(s, dict)), {})
    address = next(iter(_addresses(item)), {})
    place = next(iter(_locations(item)), {})
    lines = [text(address.get(k)) for k in ("address_1", "address_2") if address.get(k)]
    fields = [
        ("name", item.get("name"), "name"),
        ("description", item.get("description"), "description"),
        ("website", item.get("url"), "url"),
        ("contact_public", item.get("email"), "email"),
        ("provider", organization.get("name"), "organization name"),
        ("opening_hours", schedule.get("description"), "schedule description"),
        ("delivery", (schedule.get("attending_type") or "")[:100] or None, "attending_type"),
        ("place_name", place.get("name"), "location name"),
        ("address", ", ".join(lines) or None, "address"),
    ]
    for column, value, field in fields:
        values[column], reason = _text(value, column, field)
        if reason:
            return None, reason + named
    if not values["name"]:
        return None, "missing name" + named
    if values["place_name"] and values["place_name"] == (values["address"] or "").split(",")[0]:
        values["place_name"] = None  # a location named by its address has no name of its own
    if values["website"] and web_address_problem(values["website"]):
        values["website"] = None  # a link we would not publish is not kept
    code = _postcode(item)
    values["postcode"] = code[:10] if code else None
    values["geom"], reason = _point(item, postcodes)
    if reason:
        return None, reason + named
    values["service_area"] = _area(item)
    values["status"] = "active" if item.get("status", "active") == "active" else "closed"
    terms = []
    for attribute in item.get("attributes") or []:
        term = attribute.get("taxonomy_term") if isinstance(attribute, dict) else None
        if isinstance(term, dict):
            terms += [text(term.get("term")).lower(), text(term.get("name")).lower()]
    values["categories"] = list(dict.fromkeys(vocabulary[t] for t in terms if t in vocabulary))
    values["provider_org_ids"] = _org_ids(organization)
    return values, None


def _org_ids(organization):
    """Return the normalised org-ids of an ORUK organization's identifiers in our lists.

    An identifier in another list (a tax number, a scheme we do not know) is not an error of
    the service: it is left out.
    """
    found = []
    for item in organization.get("organization_identifiers") or []:
        if not isinstance(item, dict):
            continue
        scheme, identifier = text(item.get("identifier_scheme")), text(item.get("identifier"))
        value, reason = normalise_org_id(f"{scheme}-{identifier}")
        if reason is None:
            found.append(value)
    return sorted(set(found))
