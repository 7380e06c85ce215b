"""The JSON API for writing groups, and what each kind of client may read."""

import pytest
from sqlalchemy import func, select

from mapper.store.models import AuditEvent, CommunityGroup
from tests.factories import four_users, make_group, make_token, make_user

WEST = (-2.05, 53.45)


@pytest.fixture
def tokens(session):
    """Authorization headers of an untrusted editor, another organisation's editor, an admin."""
    users = four_users(session)
    return {who: make_token(session, users[who]) for who in ("editor", "other", "admin")}


def body(**changes):
    data = {"name": "Allotment Society", "categories": ["faith"], "lon": WEST[0], "lat": WEST[1]}
    return {**data, **changes}


def count(session):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(CommunityGroup))


def test_post_answers_201_with_the_stored_group_and_its_location(client, session, tokens):
    response = client.post("/api/v1/groups", json=body(), headers=tokens["editor"])
    assert response.status_code == 201
    data = response.get_json(force=True)
    props = data["properties"]
    assert props["id"] == data["id"] and props["ward_code"] == "E05000002"
    assert props["status"] == "pending" and props["organisation"] == "Small LIO"
    assert data["geometry"] == {"type": "Point", "coordinates": [-2.05, 53.45]}
    assert response.headers["Location"] == f"http://localhost/api/v1/groups/{data['id']}"
    # the Location is readable by the client that made it (and by nobody anonymous yet)
    assert client.get(response.headers["Location"], headers=tokens["editor"]).status_code == 200
    assert client.get(response.headers["Location"]).status_code == 404


def test_post_by_postcode(client, session, tokens):
    data = {"name": "Food Bank", "categories": ["food-support"], "postcode": "ts1 1aa"}
    response = client.post("/api/v1/groups", json=data, headers=tokens["admin"])
    assert response.status_code == 201
    props = response.get_json(force=True)["properties"]
    assert (props["ward_code"], props["postcode"], props["status"]) == (
        "E05000001",
        "TS1 1AA",
        "active",
    )


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer cm_nonsense"}, {"Authorization": "Basic YTpi"}],
)
def test_writes_without_a_good_token_are_401(client, session, tokens, headers):
    group = make_group(session, "Choir", WEST)
    for response in (
        client.post("/api/v1/groups", json=body(), headers=headers),
        client.patch(f"/api/v1/groups/{group.id}", json={"name": "x"}, headers=headers),
    ):
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorised"
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="community-mapper"'
    assert count(session) == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"categories": ["knitting"]}, "categories"),
        ({"lon": 383_000, "lat": 398_000}, "lon"),  # BNG metres sent as lon/lat
        ({"lon": 0.5, "lat": 51.5}, "location"),  # outside every ward
        ({"lon": 53.45, "lat": -2.05}, "location"),  # swapped
        ({"lon": "-2.05x"}, "lon"),
        ({"website": "ftp://example.org"}, "website"),
        ({"ward_code": "E05000001"}, "ward_code"),
        ({"status": "active"}, "status"),
        ({"confirm_duplicate": "yes"}, "confirm_duplicate"),
    ],
)
def test_invalid_groups_get_422_naming_the_field(client, session, tokens, data, field):
    response = client.post("/api/v1/groups", json=body(**data), headers=tokens["editor"])
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and error["message"]
    assert set(error) == {"code", "message", "fields"} and field in error["fields"]
    assert count(session) == 0


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        ("[1, 2]", "application/json", 422),
        ('"a group"', "application/json", 422),
        ("{not json", "application/json", 400),
        ("name=Choir", "application/x-www-form-urlencoded", 415),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(
    client, session, tokens, raw, content_type, status
):
    response = client.post(
        "/api/v1/groups", data=raw, content_type=content_type, headers=tokens["editor"]
    )
    assert response.status_code == status
    assert "error" in response.get_json()


def test_an_oversized_body_is_413(client, session, tokens, app):
    padding = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post(
        "/api/v1/groups", json=body(description=padding), headers=tokens["editor"]
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"
    assert count(session) == 0


def test_a_likely_duplicate_is_409_until_confirmed(client, session, tokens):
    make_group(session, "Allotment Society", WEST)
    response = client.post("/api/v1/groups", json=body(), headers=tokens["editor"])
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "duplicate" and "Allotment Society" in error["fields"]["name"]
    response = client.post(
        "/api/v1/groups", json=body(confirm_duplicate=True), headers=tokens["editor"]
    )
    assert response.status_code == 201
    assert count(session) == 2


def test_a_retried_post_with_an_idempotency_key_creates_one_group(client, session, tokens):
    headers = {**tokens["editor"], "Idempotency-Key": "retry-1"}
    first = client.post("/api/v1/groups", json=body(), headers=headers)
    again = client.post("/api/v1/groups", json=body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.get_json(force=True)["id"] == again.get_json(force=True)["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.headers["Location"] == again.headers["Location"]
    assert count(session) == 1
    different = client.post("/api/v1/groups", json=body(name="Other"), headers=headers)
    assert different.status_code == 422
    assert "Idempotency-Key" in different.get_json()["error"]["fields"]
    too_long = client.post(
        "/api/v1/groups", json=body(), headers={**headers, "Idempotency-Key": "k" * 201}
    )
    assert too_long.status_code == 422
    assert count(session) == 1


def test_patch_edits_a_group_of_ones_own_organisation(client, session, tokens):
    created = client.post("/api/v1/groups", json=body(), headers=tokens["editor"])
    url = created.headers["Location"]
    response = client.patch(url, json={"name": "Green Lane Allotments"}, headers=tokens["editor"])
    assert response.status_code == 200
    assert response.get_json(force=True)["properties"]["name"] == "Green Lane Allotments"
    response = client.patch(url, json={"name": "Taken over"}, headers=tokens["other"])
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    response = client.patch(url, json={"ward_code": "E05000001"}, headers=tokens["editor"])
    assert response.status_code == 422
    missing = client.patch("/api/v1/groups/999999", json={}, headers=tokens["admin"])
    assert missing.status_code == 404


def test_admins_approve_through_the_api_and_editors_cannot(client, session, tokens):
    created = client.post("/api/v1/groups", json=body(), headers=tokens["editor"])
    url = created.headers["Location"]
    response = client.patch(url, json={"status": "active"}, headers=tokens["editor"])
    assert response.status_code == 403
    assert client.get("/api/v1/groups").get_json(force=True)["features"] == []
    response = client.patch(url, json={"status": "active"}, headers=tokens["admin"])
    assert response.status_code == 200
    assert response.get_json(force=True)["properties"]["status"] == "active"
    public = client.get("/api/v1/groups").get_json(force=True)["features"]
    assert [f["properties"]["name"] for f in public] == ["Allotment Society"]
    assert client.patch(url, json={"status": "active"}, headers=tokens["admin"]).status_code == 409


def test_an_untrusted_edit_to_an_active_group_is_202_and_waits(client, session, tokens):
    created = client.post("/api/v1/groups", json=body(), headers=tokens["editor"])
    url = created.headers["Location"]
    client.patch(url, json={"status": "active"}, headers=tokens["admin"])
    response = client.patch(url, json={"name": "Renamed"}, headers=tokens["editor"])
    assert response.status_code == 202
    data = response.get_json(force=True)
    assert data["properties"]["name"] == "Allotment Society"
    assert data["pending_change"]["changes"] == {"name": "Renamed"}


@pytest.mark.parametrize(
    ("who", "reason", "status", "action"),
    [
        ("editor", "Folded", 200, "close"),
        ("admin", "Not a community group", 200, "reject"),
        ("editor", None, 422, None),
        ("other", "Mine now", 403, None),
    ],
)
def test_patch_status_closed_closes_or_rejects_with_a_reason(
    client, session, tokens, who, reason, status, action
):
    url = client.post("/api/v1/groups", json=body(), headers=tokens["editor"]).headers["Location"]
    payload = {"status": "closed"} | ({"reason": reason} if reason else {})
    response = client.patch(url, json=payload, headers=tokens[who])
    assert response.status_code == status
    last = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id.desc())).first()
    if action:
        assert response.get_json(force=True)["properties"]["status"] == "closed"
        assert response.get_json(force=True)["properties"]["close_reason"] == reason
        assert last == action
    else:
        assert last == "create"
    assert count(session) == 1  # never deleted


@pytest.mark.parametrize(
    "payload",
    [{"status": "pending"}, {"status": "inactive"}, {"status": "active", "name": "Sneaky"}],
)
def test_other_status_changes_are_422(client, session, tokens, payload):
    url = client.post("/api/v1/groups", json=body(), headers=tokens["editor"]).headers["Location"]
    assert client.patch(url, json=payload, headers=tokens["admin"]).status_code == 422


@pytest.fixture
def mixed(session, tokens):
    """Groups of every status: LIO's pending and active, Oth's pending and closed."""
    lio = make_user(session, "lio2@lio.example", organisation="Small LIO").organisation_id
    oth = make_user(session, "oth2@other.example", organisation="Other LIO").organisation_id
    for name, status, org in [
        ("LIO Pending", "pending", lio),
        ("LIO Active", "active", lio),
        ("Oth Pending", "pending", oth),
        ("Oth Closed", "closed", oth),
    ]:
        make_group(session, name, WEST, status=status, organisation_id=org)
    return tokens


def names(client, url, headers=None):
    response = client.get(url, headers=headers or {})
    assert response.status_code == 200, response.get_data(as_text=True)
    return sorted(f["properties"]["name"] for f in response.get_json(force=True)["features"])


def test_the_status_filter_shows_each_client_what_it_may_see(client, mixed):
    every = "/api/v1/groups?status=pending,active,closed"
    assert names(client, "/api/v1/groups") == ["LIO Active"]
    assert client.get(every).status_code == 401
    assert client.get("/api/v1/groups?status=pending").get_json()["error"]["fields"]["status"]
    assert client.get("/api/v1/groups?status=deleted").status_code == 400
    assert names(client, every, mixed["editor"]) == ["LIO Active", "LIO Pending"]
    assert names(client, "/api/v1/groups?status=closed", mixed["other"]) == ["Oth Closed"]
    assert names(client, every, mixed["admin"]) == [
        "LIO Active",
        "LIO Pending",
        "Oth Closed",
        "Oth Pending",
    ]
    assert names(client, "/api/v1/groups", mixed["admin"]) == ["LIO Active"]


def test_the_status_filter_pages_with_the_other_filters(client, mixed):
    url = "/api/v1/groups?status=pending,active&limit=1&bbox=-2.1,53.4,-2.0,53.5&ward=E05000002"
    seen = []
    while url:
        data = client.get(url, headers=mixed["admin"]).get_json(force=True)
        seen += [f["properties"]["name"] for f in data["features"]]
        url = next((link["href"] for link in data["links"] if link["rel"] == "next"), None)
    assert seen == ["LIO Pending", "LIO Active", "Oth Pending"]


def test_a_single_group_is_visible_to_those_who_may_see_it(client, session, mixed):
    ids = dict(session.execute(select(CommunityGroup.name, CommunityGroup.id)).all())
    pending = f"/api/v1/groups/{ids['LIO Pending']}"
    assert client.get(pending).status_code == 404
    assert client.get(pending, headers=mixed["other"]).status_code == 404
    assert client.get(pending, headers=mixed["editor"]).status_code == 200
    assert client.get(pending, headers=mixed["admin"]).status_code == 200


def test_anonymous_clients_get_public_fields_only(client, session, mixed):
    ids = dict(session.execute(select(CommunityGroup.name, CommunityGroup.id)).all())
    url = f"/api/v1/groups/{ids['LIO Active']}"
    public = client.get(url).get_json(force=True)["properties"]
    own = client.get(url, headers=mixed["editor"]).get_json(force=True)["properties"]
    stranger = client.get(url, headers=mixed["other"]).get_json(force=True)["properties"]
    private = {"organisation", "wards_served", "close_reason", "active_from", "active_until"}
    assert not private & set(public) and not private & set(stranger)
    assert private <= set(own) and own["organisation"] == "Small LIO"
