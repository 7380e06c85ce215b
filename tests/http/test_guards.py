"""Nothing malformed reaches the database: ids past the columns' range, page numbers of any
size, NUL bytes, lone surrogates, invisible names, deep JSON and chunked bodies over the limit
are a 404, 400, 413 or 422 naming the field, the same on SpatiaLite and PostGIS."""

import http.client
import json

import pytest
from sqlalchemy import func, select

from mapper.core.openreferral import record_uuid
from mapper.store.models import MAX_ID, CommunityGroup
from tests.factories import four_users, make_group, make_service, make_token
from tests.forms import sign_in

WEST = (-2.05, 53.45)
HUGE = "9999999999999999999999999"
PAST_INT32 = str(MAX_ID + 1)
PAST_INT64 = str(2**63)
THOUSANDS_OF_DIGITS = "9" * 5000


@pytest.fixture
def world(session):
    """Testshire's two wards, its users, an active group and a service."""
    users = four_users(session)
    group = make_group(session, "Choir", WEST, categories=["arts-culture"])
    service = make_service(session, "Food bank", WEST, status="active")
    return {"admin": make_token(session, users["admin"]), "group": group, "service": service}


PATH_IDS = [
    "/api/v1/groups/{id}",
    "/groups/{id}",
    "/groups/{id}/edit",
    "/groups/{id}/preview",
    "/groups/{id}/history",
    "/map/services/{id}.json",
    "/ogc/collections/groups/items/{id}",
    "/ogc/collections/services/items/{id}",
    "/snapshots/{id}",
    "/snapshots/{id}.csv",
    "/decisions/{id}",
]


@pytest.mark.parametrize("value", [PAST_INT32, PAST_INT64, HUGE, THOUSANDS_OF_DIGITS])
@pytest.mark.parametrize("template", PATH_IDS)
def test_an_id_beyond_the_id_columns_is_not_found(client, world, template, value):
    response = client.get(template.format(id=value), headers=world["admin"])
    assert response.status_code == 404


@pytest.mark.parametrize("value", [PAST_INT32, HUGE])
def test_patching_an_id_beyond_the_id_columns_is_not_found(client, world, value):
    response = client.patch(f"/api/v1/groups/{value}", json={"name": "x"}, headers=world["admin"])
    assert response.status_code == 404


def test_an_open_referral_id_carrying_an_id_beyond_the_columns_is_not_found(client, world):
    assert client.get(f"/openreferral/services/{record_uuid('service', 2**40)}").status_code == 404
    real = record_uuid("service", world["service"].id)
    assert client.get(f"/openreferral/services/{real}").status_code == 200


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        (f"/api/v1/groups?after={HUGE}", "after"),
        (f"/api/v1/groups?after={PAST_INT32}", "after"),
        (f"/api/v1/groups?after={THOUSANDS_OF_DIGITS}", "after"),
        ("/api/v1/groups?after=-1", "after"),
        ("/api/v1/groups?limit=10001", "limit"),
        (f"/ogc/collections/groups/items?after={HUGE}", "after"),
        (f"/ogc/collections/services/items?after={PAST_INT32}", "after"),
        (f"/openreferral/services?page={HUGE}", "page"),
        (f"/openreferral/services?page={PAST_INT32}", "page"),
        (f"/openreferral/taxonomy_terms?page={PAST_INT64}", "page"),
        (f"/groups/mine?page={HUGE}", "page"),
        (f"/groups/mine?organisation={PAST_INT32}", "organisation"),
        (f"/changes.csv?from_snapshot={HUGE}", "from_snapshot"),
        (f"/changes.csv?from=2024-01-01&to_snapshot={PAST_INT32}", "to_snapshot"),
        ("/openreferral/services?search=a%00b", "search"),
        ("/api/v1/groups?category=food%00", "category"),
        ("/gaps.geojson?as_of=2024-02-30", "as_of"),
        ("/api/v1/wards?la=", "la"),  # no value is no longer "every ward"
        ("/api/v1/groups?ward=", "ward"),
        ("/api/v1/groups?limit=5&limit=10", "limit"),  # repeated: no longer the first kept
        ("/api/v1/groups?bbox=-3,53,-1,54&bbox=0,0,1,1", "bbox"),
        ("/ogc/collections/groups/items?limit=5&limit=6", "limit"),
        ("/openreferral/services?page=1&page=2", "page"),
        ("/gaps.csv?as_of=2024-01-01&as_of=2025-01-01", "as_of"),
        ("/openreferral/services?per_page=1001", "per_page"),
        ("/openreferral/services?per_page=100000000000000000000000", "per_page"),
        ("/gaps.geojson?as_of=10000-01-01", "as_of"),
        ("/gaps.csv?la=E08000099%00", "la"),
        ("/openreferral/services?search=" + "+".join(f"w{i}" for i in range(2000)), "search"),
        ("/openreferral/services?search=" + "x" * 2000, "search"),
    ],
)
def test_query_values_the_database_cannot_take_are_a_400_naming_the_parameter(
    client, world, path, parameter
):
    if path.startswith("/groups/"):
        sign_in(client, "admin@council.example")
    response = client.get(path, headers={**world["admin"], "Accept": "application/json"})
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert parameter in response.get_json()["error"]["fields"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/gaps.geojson?as_of=0001-01-01", 200),  # nothing was active then
        ("/gaps.csv?as_of=9999-12-31", 200),
        ("/ogc/collections/gaps/items?as_of=0001-01-01", 200),
        ("/changes.csv?from=0001-01-01", 404),  # no snapshot describes that day
        ("/changes.csv?from=2024-01-01&to=9999-12-31", 404),
    ],
)
def test_the_first_and_last_days_there_are_are_answered(client, world, path, status):
    assert client.get(path).status_code == status


def body(**changes):
    return {"name": "Knit and Natter", "categories": ["faith"], "lon": WEST[0], "lat": WEST[1],
            **changes}  # fmt: skip


def count(session):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(CommunityGroup))


@pytest.mark.parametrize(
    ("data", "status", "field"),
    [
        (body(name="Knit\x00and Natter"), 422, "name"),
        (body(description="a\x00b"), 422, "description"),
        (body(name="\ud800"), 422, "name"),
        (body(address="12 High St \udfff"), 422, "address"),
        (body(categories=["faith\x00"]), 422, "categories"),
        (body(name="\u200b\u200b\u200b"), 422, "name"),  # zero-width spaces
        (body(name="\u3164\u2800\u00a0"), 422, "name"),  # Hangul filler, braille blank, nbsp
        (body(name="\u202e\u2066\ufeff"), 422, "name"),  # direction marks, byte-order mark
        ({**body(), "name\x00": "x"}, 422, "body"),
        (body(website="javascript:alert(1)"), 422, "website"),
        (body(website="data:text/html,<script>alert(1)</script>"), 422, "website"),
    ],
)
def test_text_the_database_cannot_store_is_refused_naming_the_field(
    client, session, world, data, status, field
):
    before = count(session)
    response = client.post("/api/v1/groups", json=data, headers=world["admin"])
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert field in response.get_json()["error"]["fields"]
    assert count(session) == before


def test_a_patch_with_a_nul_byte_changes_nothing(client, session, world):
    group = world["group"]
    response = client.patch(
        f"/api/v1/groups/{group.id}", json={"name": "Choir\x00"}, headers=world["admin"]
    )
    assert response.status_code == 422 and "name" in response.get_json()["error"]["fields"]
    session.expire_all()
    assert session.get(CommunityGroup, group.id).name == "Choir"


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_json_nested_too_deep_is_refused(client, session, world, depth):
    raw = '{"name": ' + "[" * depth + "]" * depth + "}"
    before = count(session)
    response = client.post(
        "/api/v1/groups", data=raw, content_type="application/json", headers=world["admin"]
    )
    assert response.status_code in (400, 422)
    assert set(response.get_json()["error"]["fields"]) <= {"name", "body"}
    assert count(session) == before


def test_json_nested_as_deep_as_a_group_is_accepted(client, world):
    response = client.post("/api/v1/groups", json=body(), headers=world["admin"])
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/v1/groups", "application/json"),
        ("/sign-in", "application/x-www-form-urlencoded"),
        ("/groups/new", "application/x-www-form-urlencoded"),
    ],
)
def test_a_body_over_the_limit_is_413_sent_chunked_as_with_a_length(
    live_server, world, path, content_type
):
    host, port = live_server.removeprefix("http://").split(":")

    def chunks():
        for _ in range(1100):  # 1.1 MiB, over the 1 MiB limit
            yield b"x" * 1024

    for chunked in (True, False):
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        headers = {"Content-Type": content_type, **world["admin"]}
        data = chunks() if chunked else b"x" * 1100 * 1024
        connection.request("POST", path, body=data, headers=headers, encode_chunked=chunked)
        response = connection.getresponse()
        assert response.status == 413, (chunked, response.read()[:200])
        connection.close()


def test_a_chunked_body_within_the_limit_is_read(live_server, session, world):
    host, port = live_server.removeprefix("http://").split(":")
    raw = json.dumps(body()).encode()
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {"Content-Type": "application/json", **world["admin"]}
    connection.request("POST", "/api/v1/groups", body=iter([raw]), headers=headers,
                       encode_chunked=True)  # fmt: skip
    assert connection.getresponse().status == 201
    connection.close()


@pytest.mark.parametrize(
    ("form", "field"),
    [({"email": "a\x00@b.example", "password": "x"}, "email")],
)
def test_form_values_with_a_nul_byte_are_a_400_naming_the_field(client, world, form, field):
    response = client.post("/sign-in", data=form, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]
