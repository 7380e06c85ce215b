"""The OpenAPI document: valid OpenAPI 3.0, true to the app's routes, readable as a page."""

import re

import pytest
from openapi_spec_validator import validate
from werkzeug.exceptions import MethodNotAllowed, NotFound

IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def spec(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.content_type == "application/json"
    return response.get_json()


def as_openapi_path(rule):
    """Turn a Flask rule such as /api/v1/groups/<int:group_id> into /api/v1/groups/{group_id}."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_the_document_is_valid_openapi_3_0(spec):
    assert spec["openapi"].startswith("3.0.")
    validate(spec)
    assert spec["servers"] == [{"url": "http://localhost"}]


def test_every_documented_operation_is_a_route_of_the_app(app, spec):
    adapter = app.url_map.bind("localhost")
    for path, item in spec["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for method in item:
            try:
                adapter.match(concrete, method=method.upper())
            except (NotFound, MethodNotAllowed):
                pytest.fail(f"{method.upper()} {path} is documented but the app has no such route")


def test_every_api_v1_route_is_documented(app, spec):
    routes = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1")]
    assert routes, "the API blueprint has no routes"
    for rule in routes:
        path = as_openapi_path(rule.rule)
        assert path in spec["paths"], f"{rule.rule} is not in the OpenAPI document"
        for method in rule.methods - IGNORED_METHODS:
            assert method.lower() in spec["paths"][path], f"{method} {rule.rule} is undocumented"


def test_the_check_would_catch_an_undocumented_route(database_url):
    from tests.conftest import make_app

    app = make_app(database_url)
    app.add_url_rule("/api/v1/secret", "secret", lambda: "")
    spec = app.test_client().get("/api/openapi.json").get_json()
    with pytest.raises(AssertionError, match="/api/v1/secret"):
        test_every_api_v1_route_is_documented(app, spec)
    app.extensions["mapper.db"].dispose()


def test_the_ogc_api_and_open_referral_are_described(spec):
    for path in (
        "/ogc",
        "/ogc/conformance",
        "/ogc/collections",
        "/ogc/collections/groups/items",
        "/ogc/collections/wards/items/{featureId}",
        "/openreferral/services",
        "/openreferral/services/{service_uuid}",
    ):
        assert "get" in spec["paths"][path], path
    params = {
        p["name"]: p for p in spec["paths"]["/ogc/collections/groups/items"]["get"]["parameters"]
    }
    # OGC API – Features Part 1, clause 7.15.4 (/req/core/fc-limit-response-1): a limit over
    # the maximum is served as the maximum, not refused, so the schema states no maximum
    # (else schemathesis's negative cases would rightly expect a 4xx); the text says it.
    assert "maximum" not in params["limit"]["schema"]
    assert "at most 10,000" in params["limit"]["description"]
    assert params["limit"]["schema"]["default"] == 100
    assert {"bbox", "la_code", "ward_code", "category"} <= params.keys()
    ward_params = spec["paths"]["/ogc/collections/wards/items"]["get"]["parameters"]
    assert "category" not in {p["name"] for p in ward_params}


def test_the_ogc_service_desc_is_the_same_document(client, spec):
    response = client.get("/ogc/api")
    assert response.content_type == "application/vnd.oai.openapi+json;version=3.0"
    assert response.get_json(force=True) == spec
    page = client.get("/ogc/api?f=html")
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    assert "<code>/ogc/collections/gaps/queryables</code>" in page.get_data(as_text=True)
    assert client.get("/ogc/api?f=yaml").status_code == 400


def test_the_documentation_page_presents_every_operation_with_no_outside_assets(client, spec):
    response = client.get("/api/")
    assert response.status_code == 200 and response.content_type.startswith("text/html")
    html = response.get_data(as_text=True)
    for path, item in spec["paths"].items():
        for method in item:
            assert f"{method.upper()}</span> <code>{path}</code>" in html
    assert "bbox" in html and "numberMatched" in html
    for address in re.findall(r'(?:href|src)="([^"]+)"', html):
        assert address.startswith(("/", "#")), address
    assert "<script" not in html


def test_the_group_fields_documented_are_those_the_registry_accepts(spec, client):
    from mapper.core import group_input

    fields = spec["components"]["schemas"]["GroupInput"]["properties"]
    assert set(fields) == set(group_input.GROUP_FIELDS)
    post = spec["paths"]["/api/v1/groups"]["post"]
    assert post["security"] == [{"bearerAuth": []}] and {"201", "401", "409", "422"} <= set(
        post["responses"]
    )
    patch = spec["paths"]["/api/v1/groups/{group_id}"]["patch"]
    assert {"200", "202", "403", "404"} <= set(patch["responses"])
    html = client.get("/api/").get_data(as_text=True)
    assert 'id="schema-GroupInput"' in html and "None" not in html


def test_the_gap_analysis_downloads_and_collection_are_described(spec):
    from mapper.api import ogc_collections
    from mapper.http import params

    assert set(ogc_collections.GAP_PARAMETERS) == {*params.GAP_ARGUMENTS, "as_of", "reach_m"}
    for path in ("/gaps.geojson", "/gaps.csv", "/ogc/collections/gaps/items"):
        names = {p["name"] for p in spec["paths"][path]["get"]["parameters"]}
        assert set(ogc_collections.GAP_PARAMETERS) <= names, path
    items = {p["name"] for p in spec["paths"]["/ogc/collections/gaps/items"]["get"]["parameters"]}
    assert {"bbox", "limit", "la_code", "ward_code"} <= items
    csv = spec["paths"]["/gaps.csv"]["get"]["responses"]["200"]["content"]
    assert list(csv) == ["text/csv"]


def test_the_machine_readable_evidence_routes_are_described(app, spec):
    evidence = [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint
        in ("evidence.snapshot_index", "evidence.snapshot_download", "evidence.changes_download")
        or r.endpoint == "decisions.decision_download"
    ]
    assert len(evidence) == 4
    for path in (
        "/snapshots.json",
        "/snapshots/{snapshot_id}.geojson",
        "/snapshots/{snapshot_id}.csv",
        "/changes.geojson",
        "/changes.csv",
        "/decisions.geojson",
        "/decisions.csv",
    ):
        assert "get" in spec["paths"][path], path
    names = {p["name"] for p in spec["paths"]["/changes.geojson"]["get"]["parameters"]}
    assert names == {"la", "ward", "from", "from_snapshot", "to", "to_snapshot", "crs"}
