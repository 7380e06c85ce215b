"""Typed layers: each collection publishes its schema (Part 5) and queryables (Part 3), and
GIS clients nobody here wrote (GDAL, OWSLib) read the fields with their types."""

import jsonschema
import pytest
from owslib.ogcapi.features import Features

from mapper.store import queries
from tests.api.test_ogc_gdal import gdal
from tests.factories import make_group, make_service, two_wards

COLLECTIONS = ["wards", "groups", "services", "gaps"]
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"


@pytest.fixture
def stored(session):
    wards = two_wards(session)
    wards["E05000001"].population = 5321
    make_group(session, "Chess Club", (-2.05, 53.45), categories=["faith"])
    food = queries.categories_by_slug(session, ["food-support"])
    make_service(session, "Food Bank", (-1.95, 53.45), categories=food)
    session.commit()


def get_json(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)
    return response


def links_of(client, collection):
    links = get_json(client, f"/ogc/collections/{collection}?f=json").get_json()["links"]
    return {(x["rel"], x["type"]): x["href"] for x in links}


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_every_feature_validates_against_its_collections_schemas(client, stored, collection):
    links = links_of(client, collection)
    schema_url = links[("describedby", "application/schema+json")]
    assert schema_url.endswith(f"/ogc/collections/{collection}/schema")
    response = get_json(client, schema_url)
    assert response.mimetype == "application/schema+json"
    schema = response.get_json()
    assert schema["$id"] == schema_url
    roles = {name: p.get("x-ogc-role") for name, p in schema["properties"].items()}
    assert roles["geometry"] == "primary-geometry"
    id_property = next(name for name, role in roles.items() if role == "id")
    feature_schema = get_json(client, links[("describedBy", "application/schema+json")]).get_json()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator.check_schema(feature_schema)
    features = get_json(client, f"/ogc/collections/{collection}/items").get_json()["features"]
    assert features
    flat = {**schema, "properties": dict(schema["properties"]), "additionalProperties": False}
    del flat["properties"]["geometry"]
    for feature in features:
        jsonschema.validate(feature["properties"], flat)
        assert feature["properties"][id_property] == feature["id"]
        nulls_dropped = {k: v for k, v in feature["properties"].items() if v is not None}
        jsonschema.validate({**feature, "properties": nulls_dropped}, feature_schema)


def test_the_schema_types_the_gap_figures(client, stored):
    properties = get_json(client, "/ogc/collections/gaps/schema").get_json()["properties"]
    assert properties["population"]["type"] == ["integer", "null"]
    assert properties["groups_per_1k"]["type"] == ["number", "null"]
    assert properties["groups"]["type"] == "integer"
    assert properties["priority"]["enum"][:1] == ["priority gap"]
    feature = get_json(client, "/ogc/collections/gaps/schema?profile=feature").get_json()
    typed = feature["properties"]["properties"]["properties"]
    assert typed["services_per_1k"]["type"] == "number"


@pytest.mark.parametrize(
    ("collection", "expected"),
    [
        ("wards", {"la_code", "ward_code"}),
        ("groups", {"la_code", "ward_code", "category"}),
        ("gaps", {"la_code", "ward_code"}),
    ],
)
def test_the_queryables_are_the_property_filters_the_items_take(
    client, stored, collection, expected
):
    url = links_of(client, collection)[(QUERYABLES_REL, "application/schema+json")]
    queryables = get_json(client, url).get_json()
    jsonschema.Draft202012Validator.check_schema(queryables)
    assert set(queryables["properties"]) == expected
    for name in expected:  # each is a query parameter of the items
        value = "faith" if name == "category" else "E05000002"
        if name == "la_code":
            value = "E08000099"
        assert get_json(client, f"/ogc/collections/{collection}/items?{name}={value}")
    if collection == "groups":
        assert "faith" in queryables["properties"]["category"]["items"]["enum"]


@pytest.mark.parametrize(
    "query",
    ["schema?profile=gml", "schema?f=html", "schema?colour=red", "queryables?f=xml"],
)
def test_a_bad_schema_request_is_a_400_naming_the_parameter(client, stored, query):
    response = get_json(client, f"/ogc/collections/wards/{query}", status=400)
    name = query.split("?")[1].split("=")[0]
    assert name in response.get_data(as_text=True)
    assert get_json(client, "/ogc/collections/nowhere/schema", status=404)


def test_conformance_claims_queryables_and_schemas(client):
    claimed = get_json(client, "/ogc/conformance?f=json").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables" in claimed
    assert "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas" in claimed


def test_owslib_reads_the_queryables(live_server, stored, monkeypatch):
    # No proxy for the loopback server; requests would otherwise honour one from the environment.
    monkeypatch.setenv("NO_PROXY", "*")
    queryables = Features(f"{live_server}/ogc").collection_queryables("services")
    assert set(queryables["properties"]) == {"la_code", "ward_code", "category"}
    assert queryables["properties"]["ward_code"]["type"] == "string"


def test_ogrinfo_reads_the_gap_figures_as_numbers(live_server, stored):
    summary = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{live_server}/ogc", "gaps")
    assert "population: Integer" in summary, summary
    assert "groups_per_1k: Real" in summary, summary
    assert "services_per_1k: Real" in summary, summary
    assert "groups: Integer" in summary, summary
    # No ward has deprivation figures: only the schema can say what these are.
    assert "imd_decile: Integer" in summary, summary
    assert "imd_share_10pct: Real" in summary, summary
    assert "ward_name: String" in summary, summary
    listing = gdal("ogrinfo", "-ro", "-fid", "1", f"OAPIF:{live_server}/ogc", "gaps")
    assert "population (Integer) = 5321" in listing, listing
