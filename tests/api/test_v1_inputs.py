"""The inputs of /api/v1 and Open Referral are declared once (mapper/api/schemas.py): the same
models validate each request and write the OpenAPI document, so every limit the document
states is enforced and every refusal names the parameter or field, on both backends."""

import pytest

from mapper.api import schemas
from mapper.store.models import MAX_ID, CommunityGroup
from tests.api.test_v1_groups import WEST, body, count
from tests.factories import four_users, make_group, make_token, two_wards


@pytest.fixture
def admin(session):
    """The Authorization header of an administrator, with two wards to put groups in."""
    two_wards(session)
    return make_token(session, four_users(session)["admin"])


@pytest.fixture
def spec(client):
    return client.get("/api/openapi.json").get_json()


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ("/api/v1/groups?limit=10001", "limit", "must be at most 10000"),
        ("/api/v1/groups?limit=100000000000000000000000", "limit", "must be at most 10000"),
        ("/api/v1/groups?limit=0", "limit", "must be at least 1"),
        ("/api/v1/groups?limit=1.0", "limit", "is not a whole number"),
        ("/api/v1/groups?limit=", "limit", "is not a whole number"),
        ("/api/v1/groups?limit=5&limit=6", "limit", "give it once"),
        ("/api/v1/groups?after=-1", "after", "must be at least 0"),
        (f"/api/v1/groups?after={MAX_ID + 1}", "after", f"must be at most {MAX_ID}"),
        ("/api/v1/groups?bbox=1,2,3", "bbox", "needs 4 values"),
        ("/api/v1/groups?bbox=1,2,3,4,5", "bbox", "at most 4 values"),
        ("/api/v1/groups?bbox=1,2,x,4", "bbox", "'x' is not a number"),
        ("/api/v1/groups?bbox=10,60,5,50", "bbox", "min before max"),
        ("/api/v1/groups?bbox=", "bbox", "needs 4 values"),
        ("/api/v1/groups?ward=", "ward", "give at least one value"),
        ("/api/v1/groups?ward=E0500000", "ward", "is not a GSS code"),
        ("/api/v1/groups?category=a%2Bb", "category", "'a+b' is not in the form"),
        ("/api/v1/groups?status=gone", "status", "must be one of"),
        ("/api/v1/wards?la=", "la", "give at least one value"),
        ("/api/v1/wards?la=Trafford", "la", "'TRAFFORD' is not a GSS code"),
        ("/api/v1/wards?vintage=" + "x" * 21, "vintage", "must be at most 20 characters"),
        ("/api/v1/wards?vintage=a&vintage=b", "vintage", "give it once"),
        ("/openreferral/services?search=a&search=b", "search", "give it once"),
        ("/openreferral/services?proximity=inf&postcode=TS1+1AA", "proximity", "finite"),
        ("/openreferral/services?proximity=-1&postcode=TS1+1AA", "proximity", "at least 0"),
        ("/openreferral/services?proximity=5", "proximity", "needs a postcode"),
        ("/openreferral/services?page=0", "page", "must be at least 1"),
        ("/openreferral/taxonomy_terms?per_page=1001", "per_page", "must be at most 1000"),
        ("/openreferral/taxonomies?page=1&page=1", "page", "give it once"),
    ],
)
def test_bad_query_parameters_are_a_400_naming_the_parameter_and_reason(
    client, session, query, field, reason
):
    response = client.get(query)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert error["code"] == "bad_request" and set(error["fields"]) == {field}
    assert reason in error["fields"][field] and f"'{field}'" in error["message"]


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/groups?limit=10000&after=0",
        f"/api/v1/groups?limit=1&after={MAX_ID}",
        "/api/v1/groups?ward=e05000001&ward=E05000002,&category=faith,arts-culture",
        "/api/v1/groups?bbox=-180,-90,180,90&status=active",
        "/api/v1/wards?la=E08000099&vintage=2023",
    ],
)
def test_queries_within_the_documented_limits_are_served(client, session, query):
    two_wards(session)
    assert client.get(query).status_code == 200


def test_every_documented_limit_of_a_query_is_enforced_at_its_edge(client, session, spec):
    """Read each /api/v1 integer parameter's bounds from the document: one past is refused."""
    tried = 0
    for path in ("/api/v1/groups", "/api/v1/wards"):
        for parameter in spec["paths"][path]["get"]["parameters"]:
            schema, name = parameter["schema"], parameter["name"]
            for bound, step in (("minimum", -1), ("maximum", 1)):
                if schema.get("type") == "integer" and bound in schema:
                    assert client.get(f"{path}?{name}={schema[bound]}").status_code == 200
                    outside = client.get(f"{path}?{name}={schema[bound] + step}")
                    assert outside.status_code == 400
                    assert name in outside.get_json()["error"]["fields"]
                    tried += 1
    assert tried == 4  # limit and after, each at both ends


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"name": None}, "name", "must be text"),
        ({"name": ""}, "name", "is required"),
        ({"name": "x" * 301}, "name", "must be at most 300 characters"),
        ({"description": 5}, "description", "must be text"),
        ({"kind": "club"}, "kind", "must be one of"),
        ({"categories": []}, "categories", "give at least one value"),
        ({"categories": "faith"}, "categories", "must be a list"),
        ({"wards_served": ["Trafford"]}, "wards_served", "is not a GSS code"),
        ({"lon": "-2.05"}, "lon", "must be a number"),
        ({"lon": True}, "lon", "must be a number"),
        ({"lat": 91}, "lat", "must be at most 90"),
        ({"lon": 383_000, "lat": 398_000}, "lon", "British National Grid"),
        ({"confirm_duplicate": "yes"}, "confirm_duplicate", "must be true or false"),
        ({"ward_code": "E05000001"}, "ward_code", "cannot be set"),
        ({"colour": "red"}, "colour", "is not a field of a group"),
        ({"postcode": "x" * 21}, "postcode", "must be at most 20 characters"),
    ],
)
def test_bad_group_bodies_are_a_422_naming_the_field_and_reason(
    client, session, admin, changes, field, reason
):
    response = client.post("/api/v1/groups", json=body(**changes), headers=admin)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]
    assert reason in error["fields"][field]
    assert count(session) == 0


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"name": None}, "name", "must be text"),
        ({"lat": "53"}, "lat", "must be a number"),
        ({"id": 5}, "id", "cannot be set"),
        ({"status": "closed", "name": "x"}, "name", "in the same request as status"),
        ({"status": "gone"}, "status", "must be one of"),
        ({"status": "closed", "reason": 5}, "reason", "must be text"),
    ],
)
def test_bad_patches_are_a_422_naming_the_field_and_change_nothing(
    client, session, admin, data, field, reason
):
    group = make_group(session, "Choir", WEST)
    response = client.patch(f"/api/v1/groups/{group.id}", json=data, headers=admin)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert reason in response.get_json()["error"]["fields"][field]
    session.expire_all()
    stored = session.get(CommunityGroup, group.id)
    assert (stored.name, stored.status) == ("Choir", "active")


def test_every_documented_text_length_of_a_group_is_enforced(client, session, admin, spec):
    properties = spec["components"]["schemas"]["GroupCreate"]["properties"]
    limited = {name: p["maxLength"] for name, p in properties.items() if "maxLength" in p}
    assert {"name", "description", "website", "postcode"} <= set(limited)
    for name, longest in limited.items():
        response = client.post("/api/v1/groups", json=body(**{name: "x" * (longest + 1)}),
                               headers=admin)  # fmt: skip
        assert response.status_code == 422 and name in response.get_json()["error"]["fields"]
    assert count(session) == 0


def test_the_document_is_generated_from_the_models(spec):
    components = spec["components"]["schemas"]
    for name, model in schemas.BODIES.items():
        assert components[name] == schemas.openapi_schema(model)
    assert components["GroupCreate"]["required"] == ["name", "categories"]
    assert components["GroupCreate"]["additionalProperties"] is False
    post = spec["paths"]["/api/v1/groups"]["post"]["requestBody"]["content"]["application/json"]
    assert post["schema"] == {"$ref": "#/components/schemas/GroupCreate"}
    listed = spec["paths"]["/api/v1/groups"]["get"]["parameters"]
    assert [p["name"] for p in listed] == list(schemas.GroupsQuery.model_fields)
    limit = next(p for p in listed if p["name"] == "limit")["schema"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 10_000, 100)
    assert "nullable" in components["GroupInput"]["properties"]["description"]
    assert "nullable" not in components["GroupInput"]["properties"]["name"]


def test_the_rate_limited_operations_document_429_with_retry_after(app, spec):
    written = {
        (rule.rule.replace("<int:group_id>", "{group_id}"), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1")
        for method in rule.methods & {"POST", "PATCH", "PUT", "DELETE"}
    }
    assert written == {("/api/v1/groups", "post"), ("/api/v1/groups/{group_id}", "patch")}
    for path, method in written:
        assert spec["paths"][path][method]["responses"]["429"] == {
            "$ref": "#/components/responses/TooManyRequests"
        }
    too_many = spec["components"]["responses"]["TooManyRequests"]
    assert too_many["headers"]["Retry-After"]["schema"]["type"] == "integer"
