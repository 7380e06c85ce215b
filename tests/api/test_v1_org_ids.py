"""Org-ids through the faces: sent and refused by /api/v1, searched by, and published in the
group's GeoJSON, the OGC groups collection and Open Referral UK (checked by its schema)."""

import json

import pytest
from jsonschema import Draft202012Validator

from mapper.core import group_lists, openreferral
from mapper.store.models import CommunityGroup, Organisation, OrgId, Service, User
from tests.factories import four_users, make_group, make_service, make_token

WEST = (-2.05, 53.45)


@pytest.fixture
def tokens(session):
    users = four_users(session)
    return {who: make_token(session, users[who]) for who in ("trusted", "admin")}


def body(**changes):
    data = {"name": "Allotment Society", "categories": ["faith"], "lon": WEST[0], "lat": WEST[1]}
    return {**data, **changes}


def stored_org_ids(session, group_id):
    session.expire_all()
    return session.get(CommunityGroup, group_id).org_ids


def test_a_group_is_created_with_org_ids_stored_normalised(client, session, tokens):
    sent = body(org_ids=["gb-coh-1234567", "GB-CHC- 1234567", "GB-CHC-1234567"])
    response = client.post("/api/v1/groups", json=sent, headers=tokens["trusted"])
    assert response.status_code == 201, response.get_data(as_text=True)
    data = response.get_json(force=True)
    assert data["properties"]["org_ids"] == ["GB-CHC-1234567", "GB-COH-01234567"]
    assert stored_org_ids(session, data["id"]) == ["GB-CHC-1234567", "GB-COH-01234567"]
    rows = session.query(OrgId).order_by(OrgId.value).all()
    assert [(r.scheme, r.identifier, r.group_id) for r in rows] == [
        ("GB-CHC", "1234567", data["id"]),
        ("GB-COH", "01234567", data["id"]),
    ]


@pytest.mark.parametrize(
    ("org_ids", "says"),
    [
        (["GB-CHC-12A4567"], "'GB-CHC-12A4567' is not an identifier of GB-CHC"),
        (["1234567"], "'1234567' does not start with a known list's prefix"),
        (["GB-CHC-1234567", "ZZ-NOPE-1"], "'ZZ-NOPE-1'"),
        ("GB-CHC-1234567", "list"),
        ([7], "text"),
    ],
)
def test_a_malformed_org_id_is_a_422_naming_the_field_and_value(
    client, session, tokens, org_ids, says
):
    response = client.post("/api/v1/groups", json=body(org_ids=org_ids), headers=tokens["admin"])
    assert response.status_code == 422
    fields = response.get_json(force=True)["error"]["fields"]
    assert "org_ids" in " ".join(fields) and says in json.dumps(fields).replace('\\"', '"')
    assert session.query(CommunityGroup).count() == 0


def test_a_patch_replaces_the_org_ids_and_keeps_the_unchanged_one(client, session, tokens):
    group = make_group(session, "Choir", WEST, organisation_id=None)
    group.org_ids = ["GB-CHC-1234567", "GB-NIC-100123"]
    session.commit()
    kept_row = next(r.id for r in group.identifiers if r.value == "GB-CHC-1234567")
    response = client.patch(
        f"/api/v1/groups/{group.id}",
        json={"org_ids": ["GB-CHC-1234567", "gb-sc-sc012345"]},
        headers=tokens["admin"],
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert stored_org_ids(session, group.id) == ["GB-CHC-1234567", "GB-SC-SC012345"]
    assert session.query(OrgId).filter_by(value="GB-CHC-1234567").one().id == kept_row
    bad = client.patch(
        f"/api/v1/groups/{group.id}", json={"org_ids": ["GB-SC-12"]}, headers=tokens["admin"]
    )
    assert bad.status_code == 422 and "org_ids" in bad.get_json(force=True)["error"]["fields"]
    assert stored_org_ids(session, group.id) == ["GB-CHC-1234567", "GB-SC-SC012345"]


def test_the_group_search_takes_an_org_id_in_any_spelling(client, session, tokens):
    wanted = make_group(session, "Choir", WEST)
    other = make_group(session, "Band", WEST)
    wanted.org_ids, other.org_ids = ["GB-COH-01234567"], ["GB-CHC-1234567"]
    session.commit()
    for spelling in ("GB-COH-01234567", "gb-coh-1234567"):
        found = client.get("/api/v1/groups", query_string={"org_id": spelling}).get_json()
        assert [f["id"] for f in found["features"]] == [wanted.id]
    assert client.get("/api/v1/groups?org_id=GB-CHC-7654321").get_json()["features"] == []
    bad = client.get("/api/v1/groups?org_id=GB-NOPE-1")
    assert bad.status_code == 400 and "org_id" in bad.get_json()["error"]["fields"]


def test_the_admins_list_finds_a_group_by_org_id(client, session, tokens):
    admin = session.query(User).filter_by(role="admin").one()
    group = make_group(session, "Choir", WEST)
    make_group(session, "Band", WEST)
    group.org_ids = ["GB-CHC-1234567"]
    session.commit()
    found = group_lists.find_groups(session, admin, q="gb-chc-1234567")
    assert [g.id for g in found.groups] == [group.id]


def test_org_ids_are_published_in_geojson_ogc_and_open_referral(client, session, geodata):
    four_users(session)
    group = make_group(session, "Walking Group", WEST, charity_number="1234567")
    group.org_ids = ["GB-CHC-1234567", "GB-COH-01234567"]
    council = Organisation(name="Testshire Council", kind="council")
    council.org_ids = ["GB-LAE-TES"]
    session.add(council)
    session.commit()
    make_service(session, "Food Bank", WEST, organisation_id=council.id)
    geojson = client.get(f"/api/v1/groups/{group.id}").get_json()
    assert geojson["properties"]["org_ids"] == ["GB-CHC-1234567", "GB-COH-01234567"]
    ogc = client.get(f"/ogc/collections/groups/items/{group.id}?f=json").get_json()
    assert ogc["properties"]["org_ids"] == ["GB-CHC-1234567", "GB-COH-01234567"]
    schema = json.loads((geodata / "openreferral_uk/schema/service.json").read_text())
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    published = {}
    for record in (group, session.query(Service).one()):
        full = client.get(f"/openreferral/services/{openreferral.service_id(record)}").get_json()
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(full)]
        assert not errors
        identifiers = full["organization"]["organization_identifiers"]
        published[record.name] = sorted(
            (i["identifier_scheme"], i["identifier"]) for i in identifiers
        )
    # the charity number is the GB-CHC org-id already: published once
    assert published == {
        "Walking Group": [("GB-CHC", "1234567"), ("GB-COH", "01234567")],
        "Food Bank": [("GB-LAE", "TES")],
    }
