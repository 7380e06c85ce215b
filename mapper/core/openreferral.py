"""Open Referral UK (HSDS 3.0, UK profile): our services and community groups as ORUK services.

No Flask here. A service of ours is an ORUK service; a community group is an ORUK service
too — the activity of an organisation which is the group itself. Only active records are
published, and only public fields: docs/openreferral.md maps every field.

Ids are UUIDs derived from our records, so they never change while the record lives. The id
of a service carries its kind and database id (see `record_uuid`), so a look-up by id needs
no table of ids; everything else gets a name-based UUID (version 5).
"""

import json
import math
import re
import uuid
from datetime import UTC

from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy import case, func, literal, or_, select, union_all
from sqlalchemy.orm import selectinload

from mapper import geo
from mapper.io.identifiers import ORG_ID_SCHEMES, split_org_id
from mapper.store import db, queries
from mapper.store.models import MAX_ID, Category, CommunityGroup, Postcode, Service

HSDS_VERSION = "3.0"
PROFILE_URL = "https://github.com/OpenReferralUK/uk-profile"
NAMESPACE = uuid.UUID("e86ac916-ca8b-47cd-bea6-4808b77acf6c")
TAXONOMY_ID = str(uuid.uuid5(NAMESPACE, "taxonomy/categories"))
TAXONOMY_NAME = "Community Mapper activity categories"
DEFAULT_PER_PAGE, MAX_PER_PAGE = 50, 1000
# A search is a few words, each of which must match: every word is a clause of the query,
# and SQLite refuses an expression deeper than 1,000.
MAX_SEARCH_WORDS, MAX_SEARCH_CHARACTERS = 20, 500
# What separates the words of a search: ASCII white space only, so that the OpenAPI
# document's pattern (JSON Schema's \s is not Python's) counts the words as we do.
# The distance an approximate or hidden group is ordered by in a search by place: after all.
UNPUBLISHED_DISTANCE = 1e9
SEARCH_SPACE = " \t\n\r\f\v"
SEARCH_PATTERN = (
    rf"^[{SEARCH_SPACE}]*([^{SEARCH_SPACE}\x00]+([{SEARCH_SPACE}]+|$)){{0,{MAX_SEARCH_WORDS}}}$"
)


def search_words(search):
    """Return the words of a search, as find_services matches them."""
    return [word for word in re.split(f"[{SEARCH_SPACE}]+", search) if word]


ONS_GEOGRAPHY_URI = "http://statistics.data.gov.uk/id/statistical-geography/"
NATIONS = {"E": "England", "W": "Wales", "S": "Scotland", "N": "Northern Ireland"}

# The kinds of record an ORUK service comes from, as numbered inside its id.
KINDS = {"service": 1, "group": 2}
AT_LOCATION = 2  # added to the kind's code in the id of a record's service-at-location
MODELS = {"service": Service, "group": CommunityGroup}
_PREFIX = uuid.uuid5(NAMESPACE, "community-mapper").int >> 80  # the top 48 bits of our ids
_ID_BITS = 62

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WEB_ADDRESS = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$", re.IGNORECASE)


def record_uuid(kind, record_id, at_location=False):
    """Return the id of a record as a UUID (RFC 9562 version 8) that carries kind and id.

    Layout: 48 bits fixed for Community Mapper, the version, 12 bits of kind, the variant,
    62 bits of database id. `at_location` gives the id of the record's one
    service-at-location instead (its kind's code plus AT_LOCATION).
    """
    code = KINDS[kind] + (AT_LOCATION if at_location else 0)
    value = (_PREFIX << 80) | (8 << 76) | (code << 64) | (0b10 << 62) | int(record_id)
    return str(uuid.UUID(int=value))


def parse_record_uuid(text, at_location=False):
    """Return (kind, record id) for an id made by `record_uuid`, else None."""
    try:
        value = uuid.UUID(str(text)).int
    except ValueError:
        return None
    if value >> 80 != _PREFIX or (value >> 76) & 0xF != 8 or (value >> 62) & 0b11 != 0b10:
        return None
    code = ((value >> 64) & 0xFFF) - (AT_LOCATION if at_location else 0)
    kind = next((k for k, c in KINDS.items() if c == code), None)
    return (kind, value & ((1 << _ID_BITS) - 1)) if kind else None


def derived_uuid(*parts):
    """Return the name-based UUID of a part of a record, e.g. (service id, 'location')."""
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


def utc_timestamp(moment):
    """Return an RFC 3339 timestamp in UTC; SQLite hands back naive datetimes, in UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def web_address(text):
    """Return the text if it is an http(s) address, else None."""
    return text if text and WEB_ADDRESS.match(text.strip()) else None


def email_address(text):
    """Return the trimmed text if it is an email address, else None."""
    return text.strip() if text and EMAIL.match(text.strip()) else None


def without_none(mapping_):
    """Return a mapping without its None values."""
    return {k: v for k, v in mapping_.items() if v is not None}


# Taxonomy: our categories -------------------------------------------------------------------


def term_id(slug):
    """Return the taxonomy term id of a category slug."""
    return derived_uuid("category", slug)


def taxonomy():
    """Return our taxonomy of activity categories as an HSDS taxonomy."""
    return {
        "id": TAXONOMY_ID,
        "name": TAXONOMY_NAME,
        "description": "The activity categories of community groups and services in "
        "Community Mapper; each term's `term` is the category's stable slug.",
        "version": "1",
    }


def taxonomy_term(category):
    """Return a category as an HSDS taxonomy term."""
    return {
        "id": term_id(category.slug),
        "name": category.name,
        "description": category.name,
        "taxonomy": TAXONOMY_NAME,
        "taxonomy_id": TAXONOMY_ID,
        "term": category.slug,
    }


def categories(session):
    """Return every category, by slug."""
    return list(session.scalars(select(Category).order_by(Category.slug)))


def category_for_term(session, term):
    """Return the category whose term id — or slug — is `term`, or None."""
    return next((c for c in categories(session) if term in (term_id(c.slug), c.slug)), None)


# Mapping one record -------------------------------------------------------------------------


def kind_of(record):
    """Tell whether a record is a group or a service."""
    return "group" if isinstance(record, CommunityGroup) else "service"


def service_id(record):
    """Return the HSDS service id of a group or service."""
    return record_uuid(kind_of(record), record.id)


def organization(record, full=False):
    """Return the ORUK organization delivering `record`, or None when we know of none."""
    if isinstance(record, CommunityGroup):
        org_id = derived_uuid("group-organisation", record.id)
        result = {
            "id": org_id,
            "name": record.name,
            "description": record.description or record.name,
            "email": email_address(record.contact_public),
            "website": web_address(record.website),
        }
        if full:
            identifiers = organization_identifiers(org_id, record.org_ids)
            if record.charity_number:
                number = record.charity_number.strip()
                scheme = "GB-SC" if number.upper().startswith("SC") else "GB-CHC"
                if f"{scheme}-{number.upper()}" not in record.org_ids:
                    identifiers.append(
                        {
                            "id": derived_uuid(org_id, "charity-number"),
                            "organization_id": org_id,
                            "identifier_scheme": scheme,
                            "identifier_type": "Charity number",
                            "identifier": number,
                        }
                    )
            if identifiers:
                result["organization_identifiers"] = identifiers
        return without_none(result)
    if record.organisation is not None:
        name = record.organisation.name
        org_id = derived_uuid("organisation", record.organisation.id)
        identifiers = organization_identifiers(org_id, record.organisation.org_ids)
    elif record.provider:
        name = record.provider
        org_id = derived_uuid("provider", name)
        identifiers = []
    else:
        return None
    result = {"id": org_id, "name": name, "description": name}
    if full and identifiers:
        result["organization_identifiers"] = identifiers
    return result


def organization_identifiers(org_id, org_ids):
    """Return the ORUK organization_identifiers of an organization's normalised org-ids: the
    scheme is the org-id.guide list's prefix (GB-CHC), the identifier the rest."""
    found = []
    for value in org_ids:
        scheme, identifier = split_org_id(value)
        found.append(
            {
                "id": derived_uuid(org_id, "org-id", value),
                "organization_id": org_id,
                "identifier_scheme": scheme,
                "identifier_type": ORG_ID_SCHEMES.get(scheme, ("Org-id",))[0],
                "identifier": identifier,
            }
        )
    return found


def service_summary(record):
    """Return the one-to-one fields of an ORUK service (the UK profile's service_list)."""
    description = record.description
    eligibility = getattr(record, "eligibility", None)
    if eligibility:
        description = (
            f"{description}\n\nEligibility: {eligibility}"
            if description
            else (f"Eligibility: {eligibility}")
        )
    org = organization(record)
    return without_none(
        {
            "id": service_id(record),
            "organization_id": org["id"] if org else None,
            "name": record.name,
            "description": description,
            "url": web_address(record.website),
            "email": email_address(record.contact_public),
            "status": "active",
            "last_modified": utc_timestamp(record.updated_at) if record.updated_at else None,
            "organization": org,
        }
    )


def place(record, full=True):
    """Return the HSDS location of a record: its published point, and in full its address.

    Its `name` is the place's name when we hold one (a service's `place_name`), never the
    address. A group published approximately or by ward only gives no address, and a hidden
    one no point (its ward only).
    """
    sid = service_id(record)
    precision = getattr(record, "location_precision", None) or "exact"
    point = geo.published_point(to_shape(record.geom), precision)
    location_id = derived_uuid(sid, "location")
    result = {
        "id": location_id,
        "location_type": "physical",
        "name": getattr(record, "place_name", None),
    }
    if point is not None:
        result["latitude"] = round(point.y, geo.COORDINATE_DECIMALS)
        result["longitude"] = round(point.x, geo.COORDINATE_DECIMALS)
    result = without_none(result)
    if full and precision == "exact" and (record.address or record.postcode):
        ward = record.ward
        result["addresses"] = [
            {
                "id": derived_uuid(sid, "address"),
                "location_id": location_id,
                "address_1": record.address or "",
                "city": (ward.la_name or "") if ward else "",
                "state_province": NATIONS.get(ward.code[0], "") if ward else "",
                "postal_code": record.postcode or "",
                "country": "GB",
                "address_type": "physical",
            }
        ]
    return result


def service_at_location(record, full=False, service=None):
    """Return the record's one HSDS service-at-location, with its location.

    In a list (UK profile service_at_location_list) it carries the service's one-to-one
    fields; in `full` the address and the full service too, unless `service` is False
    (inside a full service, which holds it).
    """
    sid = service_id(record)
    result = {
        "id": record_uuid(kind_of(record), record.id, at_location=True),
        "service_id": sid,
        "location_id": derived_uuid(sid, "location"),
        "location": place(record, full),
    }
    if service is not False:
        if full:
            result["service"] = {
                k: v for k, v in service_full(record).items() if k != "service_at_locations"
            }
        else:
            result["service"] = service_summary(record)
    return result


def schedules(record, sid):
    """Return the HSDS schedules of a record: meeting times or opening hours."""
    if isinstance(record, CommunityGroup):
        description, attending = record.meeting_times, None
    else:
        description, attending = record.opening_hours, record.delivery
    if not (description or attending):
        return []
    return [
        without_none(
            {
                "id": derived_uuid(sid, "schedule"),
                "service_id": sid,
                "description": description,
                "attending_type": attending,
            }
        )
    ]


def service_areas(record, sid):
    """Return the HSDS service areas of a record: the wards it serves."""
    if isinstance(record, CommunityGroup):
        return [
            {
                "id": derived_uuid(sid, "area", ward.code),
                "service_id": sid,
                "name": ward.name,
                "service_area": f"{ward.name} ward ({ward.code})",
                "uri": ONS_GEOGRAPHY_URI + ward.code,
            }
            for ward in record.wards_served
        ]
    if record.service_area is None:
        return []
    extent = mapping(geo.for_rfc7946(to_shape(record.service_area)))
    return [
        {
            "id": derived_uuid(sid, "area"),
            "service_id": sid,
            "name": f"Where {record.name} is offered",
            "extent": json.dumps(extent, separators=(",", ":")),
            "extent_type": "geojson",
        }
    ]


def service_full(record):
    """Return the full ORUK service (the UK profile's service schema)."""
    sid = service_id(record)
    result = service_summary(record)
    org = organization(record, full=True)
    if org:
        result["organization"] = org
    result.update(
        schedules=schedules(record, sid),
        service_areas=service_areas(record, sid),
        service_at_locations=[service_at_location(record, full=True, service=False)],
        # A contact is a person or a role: we publish neither (the public contact is the
        # service's `email` when it is an address; the profile has no place for a phone).
        contacts=[],
        attributes=[
            {
                "id": derived_uuid(sid, "category", c.slug),
                "link_id": sid,
                "link_type": "service",
                "taxonomy_term_id": term_id(c.slug),
                "taxonomy_term": taxonomy_term(c),
            }
            for c in sorted(record.categories, key=lambda c: c.slug)
        ],
    )
    return result


# Queries ------------------------------------------------------------------------------------


def find_postcode(session, text):
    """Return the (lon, lat) of a postcode's centroid, or None if we do not know it."""
    code = Postcode.normalise(text)
    return queries.postcode_lonlats(session, [code]).get(code)


def box_around(lonlat, metres):
    """Return a lon/lat box holding every point within `metres` of `lonlat` (a little more)."""
    lon, lat = lonlat
    dlat = metres / 110_000 * 1.01 + 1e-6
    dlon = min(180.0, dlat / max(math.cos(math.radians(min(abs(lat) + dlat, 89.9))), 1e-6))
    return (
        max(-180.0, lon - dlon),
        max(-90.0, lat - dlat),
        min(180.0, lon + dlon),
        min(90.0, lat + dlat),
    )


def _candidates(session, kind, words, slugs, near, proximity):
    model = MODELS[kind]
    box = box_around(near, proximity) if near and proximity is not None else None
    clauses = queries.public_filter(session, model, lonlat_box=box, categories=slugs)
    for word in words:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(
            or_(
                model.name.ilike(pattern, escape="\\"),
                model.description.ilike(pattern, escape="\\"),
            )
        )
    columns = [literal(kind).label("kind"), model.id.label("id"), model.name.label("name")]
    if near:
        distance = db.distance_m(model.geom, near, session)
        if model is CommunityGroup:  # never ordered or kept by where it really is
            exact = CommunityGroup.location_precision == "exact"
            distance = case((exact, distance), else_=literal(UNPUBLISHED_DISTANCE))
        columns.append(distance.label("distance"))
        if proximity is not None:
            clauses.append(distance <= proximity)
    return select(*columns).where(*clauses)


def find_services(
    session, search="", slugs=(), near=None, proximity=None, page=1, per_page=DEFAULT_PER_PAGE
):
    """Return (records on the page, total matching) of services and groups, as ORUK lists them.

    Ordered by distance from `near` when given, then by name; `proximity` (metres) keeps only
    those within that distance of `near`.
    """
    words = search_words(search)
    union = union_all(
        *(_candidates(session, kind, words, slugs, near, proximity) for kind in MODELS)
    ).subquery()
    total = session.scalar(select(func.count()).select_from(union))
    order = [union.c.distance] if near else []
    order += [func.lower(union.c.name), union.c.kind, union.c.id]
    rows = session.execute(
        select(union.c.kind, union.c.id)
        .order_by(*order)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    loaded = {}
    for kind, model in MODELS.items():
        ids = [record_id for k, record_id in rows if k == kind]
        if ids:
            for record in session.scalars(
                select(model).where(model.id.in_(ids)).options(*_load_options(model))
            ):
                loaded[(kind, record.id)] = record
    return [loaded[(kind, record_id)] for kind, record_id in rows], total


def _load_options(model, full=False):
    options = [selectinload(model.categories), selectinload(model.ward)]
    if model is Service:
        options.append(selectinload(Service.organisation))
    elif full:
        options.append(selectinload(CommunityGroup.wards_served))
    return options


def get_service(session, text, at_location=False):
    """Return the active service or group whose ORUK id (or, `at_location`, the id of its
    service-at-location) is `text`, or None."""
    parsed = parse_record_uuid(text, at_location)
    if parsed is None:
        return None
    kind, record_id = parsed
    if record_id > MAX_ID:  # the UUID has room for ids the id columns cannot hold
        return None
    model = MODELS[kind]
    return session.scalar(
        select(model)
        .where(model.id == record_id, model.status == "active")
        .options(*_load_options(model, full=True))
    )


def page_of(contents, total, page, per_page):
    """Wrap one page of results as the UK profile's Page."""
    total_pages = math.ceil(total / per_page)
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page >= total_pages,
        "empty": not contents,
        "contents": contents,
    }


def api_information(openapi_url):
    """Return what the feed's root answers: HSDS version, profile and OpenAPI address."""
    return {"version": HSDS_VERSION, "profile": PROFILE_URL, "openapi_url": openapi_url}
