"""Blueprint `openreferral`: an Open Referral UK feed (HSDS 3.0, UK profile), read-only."""

from flask import Blueprint, jsonify, request, url_for

from mapper.api import schemas
from mapper.core import openreferral
from mapper.errors import NotFound
from mapper.http import params
from mapper.http.inputs import parse_query
from mapper.store.db import get_session

openreferral_api = Blueprint("openreferral", __name__, url_prefix="/openreferral")


def listed(items, args):
    """Answer one page of a short list held in memory."""
    params.only(args, "page", "per_page")
    query = parse_query(schemas.PageQuery, args)
    page, per_page = query.page, query.per_page
    start = (page - 1) * per_page
    return jsonify(
        openreferral.page_of(items[start : start + per_page], len(items), page, per_page)
    )


@openreferral_api.get("/")
def information():
    """The feed's version and profile, as the UK profile asks at its root."""
    return jsonify(openreferral.api_information(url_for("apidocs.document", _external=True)))


# The profile's search parameters that we take, and those we refuse: we hold no ages, times
# or days as data, so a filter on them could only be ignored (a wrong answer) or refused.
SEARCH_PARAMETERS = ("search", "page", "per_page", "taxonomy_term_id", "postcode", "proximity")
UNSUPPORTED = ("taxonomy_id", "minimum_age", "maximum_age", "start_time", "end_time", "day")


def search(args):
    """Return one page of (records, total, page, per_page) for a search of the feed.

    Every parameter is checked (schemas.ServicesQuery) before any is looked up: an unknown
    or repeated parameter, a page or per_page out of bounds, a long search or `proximity`
    without `postcode` is a 400 naming it, a postcode not in our directory a 404 naming it.
    `postcode` alone orders the results nearest first and keeps them all.
    """
    for name in args:
        if name in UNSUPPORTED:
            raise params.bad(name, "is not supported: this feed holds no ages, times or days")
        if name not in SEARCH_PARAMETERS:
            raise params.bad(name, "is not a parameter of this feed")
    query = parse_query(schemas.ServicesQuery, args)
    session = get_session()
    page, per_page = query.page, query.per_page
    if query.proximity is not None and not query.postcode:
        raise params.bad("proximity", "needs a postcode to measure from")
    slugs = []
    term = (query.taxonomy_term_id or "").strip()
    if term:
        category = openreferral.category_for_term(session, term)
        if category is None:
            return [], 0, page, per_page
        slugs = [category.slug]
    near = None
    if query.postcode:
        near = openreferral.find_postcode(session, query.postcode)
        if near is None:
            reason = f"'{params.shorten(query.postcode)}' is not in our postcode directory"
            raise NotFound(f"Parameter 'postcode': {reason}.", fields={"postcode": reason})
    records, total = openreferral.find_services(
        session,
        search=query.search,
        slugs=slugs,
        near=near,
        proximity=query.proximity,
        page=page,
        per_page=per_page,
    )
    return records, total, page, per_page


@openreferral_api.get("/services")
def services():
    """A page of services, searched by text, taxonomy term and distance from a postcode."""
    records, total, page, per_page = search(request.args)
    contents = [openreferral.service_summary(r) for r in records]
    return jsonify(openreferral.page_of(contents, total, page, per_page))


@openreferral_api.get("/services/<service_uuid>")
def service(service_uuid):
    """One service in full, by its id."""
    record = openreferral.get_service(get_session(), service_uuid)
    if record is None:
        raise NotFound(f"There is no service '{service_uuid}'.")
    return jsonify(openreferral.service_full(record))


@openreferral_api.get("/service_at_locations")
def service_at_locations():
    """A page of services at their locations, searched as /services is."""
    records, total, page, per_page = search(request.args)
    contents = [openreferral.service_at_location(r) for r in records]
    return jsonify(openreferral.page_of(contents, total, page, per_page))


@openreferral_api.get("/service_at_locations/<at_location_uuid>")
def service_at_location(at_location_uuid):
    """One service at its location in full, by the service-at-location's id."""
    record = openreferral.get_service(get_session(), at_location_uuid, at_location=True)
    if record is None:
        raise NotFound(f"There is no service at location '{at_location_uuid}'.")
    return jsonify(openreferral.service_at_location(record, full=True))


@openreferral_api.get("/taxonomies")
def taxonomies():
    """The taxonomies used: our activity categories."""
    return listed([openreferral.taxonomy()], request.args)


@openreferral_api.get("/taxonomies/<taxonomy_uuid>")
def taxonomy(taxonomy_uuid):
    """Our taxonomy of activity categories, by its id."""
    if taxonomy_uuid != openreferral.TAXONOMY_ID:
        raise NotFound(f"There is no taxonomy '{taxonomy_uuid}'.")
    return jsonify(openreferral.taxonomy())


@openreferral_api.get("/taxonomy_terms")
def taxonomy_terms():
    """A page of the taxonomy's terms, one per activity category."""
    terms = [openreferral.taxonomy_term(c) for c in openreferral.categories(get_session())]
    return listed(terms, request.args)


@openreferral_api.get("/taxonomy_terms/<term_id>")
def taxonomy_term(term_id):
    """One taxonomy term, by its id."""
    category = openreferral.category_for_term(get_session(), term_id)
    if category is None:
        raise NotFound(f"There is no taxonomy term '{term_id}'.")
    return jsonify(openreferral.taxonomy_term(category))
