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
from sqlalchemy import func, literal, or_, select, union_all
from sqlalchemy.orm import selectinload

from mapper import db, geo, queries
from mapper.models import Category, CommunityGroup, Postcode, Service

HSDS_VERSION = "3.0"
PROFILE_URL = "https://github.com/OpenReferralUK/uk-profile"
NAMESPACE = uuid.UUID("e86ac916-ca8b-47cd-bea6-4808b77acf6c")
TAXONOMY_ID = str(uuid.uuid5(NAMESPACE, "taxonomy/categories"))
TAXONOMY_NAME = "Community Mapper activity categories"
DEFAULT_PER_PAGE, MAX_PER_PAGE = 50, 1000
ONS_GEOGRAPHY_URI = "http://statistics.data.gov.uk/id/statistical-geography/"
NATIONS = {"E": "England", "W": "Wales", "S": "Scotland", "N": "Northern Ireland"}

# The kinds of record an ORUK service comes from, as numbered inside its id.
KINDS = {"service": 1, "group": 2}
MODELS = {"service": Service, "group": CommunityGroup}
_PREFIX = uuid.uuid5(NAMESPACE, "community-mapper").int >> 80  # the top 48 bits of our ids
_ID_BITS = 62

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WEB_ADDRESS = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$", re.IGNORECASE)


def record_uuid(kind, record_id):
    """Return the id of a record as a UUID (RFC 9562 version 8) that carries kind and id.

    Layout: 48 bits fixed for Community Mapper, the version, 12 bits of kind, the variant,
    62 bits of database id.
    """
    value = (_PREFIX << 80) | (8 << 76) | (KINDS[kind] << 64) | (0b10 << 62) | int(record_id)
    return str(uuid.UUID(int=value))


def parse_record_uuid(text):
    """Return (kind, record id) for an id made by `record_uuid`, else None."""
    try:
        value = uuid.UUID(str(text)).int
    except ValueError:
        return None
    if value >> 80 != _PREFIX or (value >> 76) & 0xF != 8 or (value >> 62) & 0b11 != 0b10:
        return None
    code = (value >> 64) & 0xFFF
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
    return text if text and WEB_ADDRESS.match(text.strip()) else None


def email_address(text):
    return text.strip() if text and EMAIL.match(text.strip()) else None


def without_none(mapping_):
    return {k: v for k, v in mapping_.items() if v is not None}


# Taxonomy: our categories -------------------------------------------------------------------


def term_id(slug):
    return derived_uuid("category", slug)


def taxonomy():
    return {
        "id": TAXONOMY_ID,
        "name": TAXONOMY_NAME,
        "description": "The activity categories of community groups and services in "
        "Community Mapper; each term's `term` is the category's stable slug.",
        "version": "1",
    }


def taxonomy_term(category):
    return {
        "id": term_id(category.slug),
        "name": category.name,
        "description": category.name,
        "taxonomy": TAXONOMY_NAME,
        "taxonomy_id": TAXONOMY_ID,
        "term": category.slug,
    }


def categories(session):
    return list(session.scalars(select(Category).order_by(Category.slug)))


def category_for_term(session, term):
    """Return the category whose term id — or slug — is `term`, or None."""
    return next((c for c in categories(session) if term in (term_id(c.slug), c.slug)), None)


# Mapping one record -------------------------------------------------------------------------


def kind_of(record):
    return "group" if isinstance(record, CommunityGroup) else "service"


def service_id(record):
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
        if full and record.charity_number:
            number = record.charity_number.strip()
            scheme = "GB-SC" if number.upper().startswith("SC") else "GB-CHC"
            result["organization_identifiers"] = [
                {
                    "id": derived_uuid(org_id, "charity-number"),
                    "organization_id": org_id,
                    "identifier_scheme": scheme,
                    "identifier_type": "Charity number",
                    "identifier": number,
                }
            ]
        return without_none(result)
    if record.organisation is not None:
        name = record.organisation.name
        org_id = derived_uuid("organisation", record.organisation.id)
    elif record.provider:
        name = record.provider
        org_id = derived_uuid("provider", name)
    else:
        return None
    return {"id": org_id, "name": name, "description": name}


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


def location(record, sid):
    point = to_shape(record.geom)
    location_id = derived_uuid(sid, "location")
    result = {
        "id": location_id,
        "location_type": "physical",
        "name": record.address or record.name,
        "latitude": round(point.y, geo.COORDINATE_DECIMALS),
        "longitude": round(point.x, geo.COORDINATE_DECIMALS),
    }
    if record.address or record.postcode:
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
    return {
        "id": derived_uuid(sid, "service-at-location"),
        "service_id": sid,
        "location_id": location_id,
        "location": result,
    }


def schedules(record, sid):
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
    contact = (record.contact_public or "").strip()
    result.update(
        schedules=schedules(record, sid),
        service_areas=service_areas(record, sid),
        service_at_locations=[location(record, sid)],
        contacts=[
            {
                "id": derived_uuid(sid, "contact"),
                "service_id": sid,
                "name": contact,
                "title": "Public contact",
            }
        ]
        if contact
        else [],
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
    words = search.split()
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


def get_service(session, text):
    """Return the active service or group whose ORUK id is `text`, or None."""
    parsed = parse_record_uuid(text)
    if parsed is None:
        return None
    kind, record_id = parsed
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
    return {"version": HSDS_VERSION, "profile": PROFILE_URL, "openapi_url": openapi_url}
