"""Blueprint `api`: JSON, thin handlers that parse, call, and answer."""

import hashlib
import json

from flask import Blueprint, request, url_for

from mapper.api import schemas
from mapper.core import groups
from mapper.errors import BadRequest, Invalid, NotFound, Unauthorised
from mapper.http import auth, limits
from mapper.http.inputs import parse_query
from mapper.http.responses import geojson_response
from mapper.io import exports
from mapper.io.identifiers import normalise_org_id
from mapper.store import queries
from mapper.store.db import get_session
from mapper.store.models import CommunityGroup

api = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_IDEMPOTENCY_KEY = 200


@api.get("/wards")
def list_wards():
    """The current wards as GeoJSON, optionally of some local authorities (`la`)."""
    query = parse_query(schemas.WardsQuery, request.args)
    rows = queries.wards(get_session(), la_codes=query.la or [], vintage=query.vintage or None)
    features = (exports.feature(geom, exports.ward_properties(w)) for w, geom in rows)
    return geojson_response(exports.feature_collection(features))


@api.get("/groups")
def list_groups():
    """Groups as GeoJSON, filtered and paged by id (`limit`, then the `next` link).

    Anonymous clients see active groups; with a token, `status` may ask for others: all of
    them for admins, their own organisation's for editors.
    """
    args = request.args
    query = parse_query(schemas.GroupsQuery, args)
    session = get_session()
    user = auth.bearer_user(session)
    limit = query.limit
    found = queries.public_groups(
        session,
        lonlat_box=query.bbox,
        ward_codes=query.ward or [],
        categories=query.category or [],
        after=query.after,
        limit=limit,
        statuses=_statuses(query, user),
        organisation_id=user.organisation_id if user and user.role != "admin" else None,
        org_id=_org_id(query.org_id),
    )
    links = []
    if len(found) == limit:
        query = {**args.to_dict(flat=False), "after": [str(found[-1].id)], "limit": [str(limit)]}
        links.append({"rel": "next", "href": url_for("api.list_groups", _external=True, **query)})
    collection = exports.feature_collection(
        (group_feature(g, user) for g in found), numberReturned=len(found), links=links
    )
    return geojson_response(collection)


def _org_id(text):
    """Return the normalised org-id a search asks for, or None; 400 naming `org_id` if bad."""
    if text is None:
        return None
    org_id, reason = normalise_org_id(text)
    if reason:
        raise BadRequest(f"Parameter 'org_id': {reason}.", fields={"org_id": reason})
    return org_id


def _statuses(query, user):
    statuses = query.status or ["active"]
    if user is None and set(statuses) != {"active"}:
        reason = "only signed-in users may ask for groups that are not active"
        raise Unauthorised(f"Parameter 'status': {reason}.", fields={"status": reason})
    return statuses


def group_feature(group, user=None):
    """A group as a Feature: public fields at its published location, and more (its true
    point, address and postcode among them) for those who may edit it."""
    editor = user is not None and groups.may_edit(user, group)
    result = exports.group_feature(group, true_location=editor)
    if editor:
        result["properties"].update(
            wards_served=[w.code for w in group.wards_served],
            organisation=group.organisation.name if group.organisation else None,
            close_reason=group.close_reason,
            active_from=group.active_from.isoformat() if group.active_from else None,
            active_until=group.active_until.isoformat() if group.active_until else None,
        )
    return result


def _visible_group(session, group_id, user):
    group = session.get(CommunityGroup, group_id)
    if group is None or not (
        group.status == "active" or (user is not None and groups.may_edit(user, group))
    ):
        raise NotFound(f"There is no public group {group_id}.")
    return group


@api.get("/groups/<int:group_id>")
def get_group(group_id):
    """One group as a GeoJSON Feature: public fields, and more for those who may edit it."""
    session = get_session()
    user = auth.bearer_user(session)
    return geojson_response(group_feature(_visible_group(session, group_id, user), user))


def _json_object():
    """The request body as a JSON object (415 when not JSON, 400 when malformed)."""
    body = request.get_json()
    if not isinstance(body, dict):
        raise Invalid("The body must be a JSON object.", fields={"body": "must be an object"})
    return body


def _idempotency(body):
    """Return (key, hash of the body) from the Idempotency-Key header, or None."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY or not key.isprintable() or not key.isascii():
        reason = f"must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters"
        raise Invalid(f"The Idempotency-Key header {reason}.", fields={"Idempotency-Key": reason})
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return key, hashlib.sha256(canonical.encode()).hexdigest()


@api.post("/groups")
@limits.api_write_limit
def create_group():
    """Register a group: 201 with the stored group and its Location."""
    session = get_session()
    user = auth.require_bearer_user(session)
    body = _json_object()
    idempotency = _idempotency(body)
    confirm = schemas.parse_group(schemas.GroupCreate, body).confirm_duplicate
    body.pop("confirm_duplicate", None)
    group, replayed = groups.register_group(
        session, user, body, confirm_duplicate=confirm, idempotency=idempotency
    )
    headers = {"Location": url_for("api.get_group", group_id=group.id, _external=True)}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return geojson_response(group_feature(group, user), 201, headers)


@api.patch("/groups/<int:group_id>")
@limits.api_write_limit
def update_group(group_id):
    """Change a group's fields (202 when an admin must approve), or its status on its own."""
    session = get_session()
    user = auth.require_bearer_user(session)
    group = session.get(CommunityGroup, group_id)
    if group is None:
        raise NotFound(f"There is no group {group_id}.")
    body = _json_object()
    if "status" in body:
        _change_status(session, user, group, schemas.parse_status_change(body))
        return geojson_response(group_feature(group, user))
    schemas.parse_group(schemas.GroupInput, body)
    proposal = groups.update_group(session, user, group, body)
    result = group_feature(group, user)
    if proposal is None:
        return geojson_response(result)
    result["pending_change"] = {"id": proposal.id, "status": "pending", "changes": proposal.changes}
    return geojson_response(result, 202)


def _change_status(session, user, group, change):
    """Approve (admins), reject (admins) or close a group with `reason` (a StatusChange)."""
    reason = change.reason if change.reason is not None else change.close_reason
    if change.status == "active":
        groups.approve_group(session, user, group)
    elif group.status == "pending" and user.role == "admin":
        groups.reject_group(session, user, group, reason)
    else:
        groups.close_group(session, user, group, reason)


@api.after_request
def _challenge(response):
    """Tell clients answered 401 how to authenticate (RFC 6750)."""
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="community-mapper"'
    return response
