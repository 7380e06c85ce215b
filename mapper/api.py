"""Blueprint `api`: JSON, thin handlers that parse, call, and answer."""

import json

from flask import Blueprint, Response, request, url_for

from mapper import exports, params, queries
from mapper.db import get_session
from mapper.errors import NotFound
from mapper.models import CommunityGroup

api = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_LIMIT = 10_000


def geojson_response(data, status=200, headers=None):
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=status, mimetype=exports.GEOJSON_MIMETYPE, headers=headers)


@api.get("/wards")
def list_wards():
    """The current wards as GeoJSON, optionally of some local authorities (`la`)."""
    la_codes = params.codes(request.args, "la")
    vintage = request.args.get("vintage") or None
    rows = queries.wards(get_session(), la_codes=la_codes, vintage=vintage)
    features = (exports.feature(geom, exports.ward_properties(w)) for w, geom in rows)
    return geojson_response(exports.feature_collection(features))


@api.get("/groups")
def list_groups():
    """Active groups as GeoJSON, filtered and paged by id (`limit`, then the `next` link)."""
    args = request.args
    limit = params.integer(args, "limit", 100, minimum=1, maximum=MAX_LIMIT)
    after = params.integer(args, "after", 0, minimum=0)
    groups = queries.public_groups(
        get_session(),
        lonlat_box=params.bbox(args),
        ward_codes=params.codes(args, "ward"),
        categories=params.words(args, "category"),
        after=after,
        limit=limit,
    )
    links = []
    if len(groups) == limit:
        query = {**args.to_dict(flat=False), "after": [str(groups[-1].id)], "limit": [str(limit)]}
        links.append({"rel": "next", "href": url_for("api.list_groups", _external=True, **query)})
    collection = exports.feature_collection(
        (exports.group_feature(g) for g in groups), numberReturned=len(groups), links=links
    )
    return geojson_response(collection)


@api.get("/groups/<int:group_id>")
def get_group(group_id):
    group = get_session().get(CommunityGroup, group_id)
    if group is None or group.status != "active":
        raise NotFound(f"There is no public group {group_id}.")
    return geojson_response(exports.group_feature(group))
