"""Blueprint `openreferral`: an Open Referral UK feed (HSDS 3.0, UK profile), read-only."""

from flask import Blueprint, jsonify, request, url_for

from mapper import openreferral, params
from mapper.db import get_session
from mapper.errors import NotFound

openreferral_api = Blueprint("openreferral", __name__, url_prefix="/openreferral")


def paging(args):
    page = params.integer(args, "page", 1, minimum=1)
    per_page = params.integer(
        args,
        "per_page",
        openreferral.DEFAULT_PER_PAGE,
        minimum=1,
        maximum=openreferral.MAX_PER_PAGE,
        cap=True,
    )
    return page, per_page


def listed(items, args):
    """Answer one page of a short list held in memory."""
    page, per_page = paging(args)
    start = (page - 1) * per_page
    return jsonify(
        openreferral.page_of(items[start : start + per_page], len(items), page, per_page)
    )


@openreferral_api.get("/")
def information():
    return jsonify(openreferral.api_information(url_for("apidocs.document", _external=True)))


@openreferral_api.get("/services")
def services():
    args = request.args
    session = get_session()
    page, per_page = paging(args)
    slugs = []
    term = (args.get("taxonomy_term_id") or "").strip()
    if term:
        category = openreferral.category_for_term(session, term)
        if category is None:
            return jsonify(openreferral.page_of([], 0, page, per_page))
        slugs = [category.slug]
    near = proximity = None
    if args.get("proximity") not in (None, ""):
        proximity = params.number(args, "proximity", minimum=0)
        if not args.get("postcode"):
            raise params.bad("proximity", "needs a postcode to measure from")
    if args.get("postcode"):
        near = openreferral.find_postcode(session, args["postcode"])
        if near is None:
            raise params.bad("postcode", f"'{args['postcode']}' is not a postcode we know")
    records, total = openreferral.find_services(
        session,
        search=args.get("search", ""),
        slugs=slugs,
        near=near,
        proximity=proximity,
        page=page,
        per_page=per_page,
    )
    contents = [openreferral.service_summary(r) for r in records]
    return jsonify(openreferral.page_of(contents, total, page, per_page))


@openreferral_api.get("/services/<service_uuid>")
def service(service_uuid):
    record = openreferral.get_service(get_session(), service_uuid)
    if record is None:
        raise NotFound(f"There is no service '{service_uuid}'.")
    return jsonify(openreferral.service_full(record))


@openreferral_api.get("/taxonomies")
def taxonomies():
    return listed([openreferral.taxonomy()], request.args)


@openreferral_api.get("/taxonomies/<taxonomy_uuid>")
def taxonomy(taxonomy_uuid):
    if taxonomy_uuid != openreferral.TAXONOMY_ID:
        raise NotFound(f"There is no taxonomy '{taxonomy_uuid}'.")
    return jsonify(openreferral.taxonomy())


@openreferral_api.get("/taxonomy_terms")
def taxonomy_terms():
    terms = [openreferral.taxonomy_term(c) for c in openreferral.categories(get_session())]
    return listed(terms, request.args)


@openreferral_api.get("/taxonomy_terms/<term_id>")
def taxonomy_term(term_id):
    category = openreferral.category_for_term(get_session(), term_id)
    if category is None:
        raise NotFound(f"There is no taxonomy term '{term_id}'.")
    return jsonify(openreferral.taxonomy_term(category))
