"""Open Referral UK: every answer validates against the UK profile's own JSON Schemas."""

import json
import uuid
from datetime import date

import pytest
from jsonschema import Draft202012Validator
from shapely.geometry import MultiPolygon, box

from mapper.core import openreferral
from mapper.store import db, queries
from mapper.store.models import Coordinator, Organisation, Postcode, User
from tests.factories import make_group, make_service, two_wards

# The postcode of the tests, and points at known distances north of it (1e-3 degree of
# latitude is about 111 m).
HOME = (-2.05, 53.45)


@pytest.fixture(scope="module")
def schemas(geodata):
    folder = geodata / "openreferral_uk" / "schema"
    loaded = {
        name: json.loads((folder / f"{name}.json").read_text())
        for name in (
            "service",
            "service_list",
            "service_at_location",
            "service_at_location_list",
            "openapi",
        )
    }
    service = loaded["service"]
    return {
        "service": service,
        "service_list": loaded["service_list"],
        "service_at_location": loaded["service_at_location"],
        "service_at_location_list": loaded["service_at_location_list"],
        "openapi": loaded["openapi"],
        "taxonomy_term": service["properties"]["attributes"]["items"]["properties"][
            "taxonomy_term"
        ],
        "page": loaded["openapi"]["components"]["schemas"]["Page"],
        "information": loaded["openapi"]["paths"]["/"]["get"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"],
    }


def validate(schema, instance):
    """Validate with draft 2020-12, checking formats (uuid, uri, email, date-time) too."""
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def test_the_validator_checks_the_formats_the_profile_uses(schemas):
    checked = Draft202012Validator.FORMAT_CHECKER.checkers
    assert {"uuid", "uri", "email", "date-time"} <= checked.keys()
    with pytest.raises(AssertionError):
        validate(schemas["service_list"], {"id": "not-a-uuid", "name": "x", "status": "active"})
    with pytest.raises(AssertionError):
        validate(
            schemas["service_list"],
            {"id": str(uuid.uuid4()), "name": "x", "status": "active", "url": "not a uri"},
        )


def test_the_profile_example_validates_and_a_broken_one_does_not(schemas, geodata):
    example = json.loads(
        (geodata / "openreferral_uk" / "oruk_example_service_full.json").read_text()
    )
    validate(schemas["service"], example)
    del example["status"]
    with pytest.raises(AssertionError):
        validate(schemas["service"], example)


@pytest.fixture
def directory(session):
    """Two wards, a postcode, services and groups of every kind, and private records."""
    wards = two_wards(session)
    session.add(Postcode(postcode="TE1 1ST", lon=HOME[0], lat=HOME[1]))
    council = Organisation(name="Testshire Council", kind="council")
    lio = Organisation(name="Secret Registering LIO", kind="lio")
    session.add_all([council, lio])
    session.add(
        Coordinator(name="Casey Coordinator", email="casey@council.example", phone="01632 960001")
    )
    session.add(
        User(
            email="editor@lio.example",
            password_hash="x",  # noqa: S106
            role="editor",
            organisation=lio,
        )
    )
    session.commit()
    food_bank = make_service(
        session,
        "Food Bank",
        (HOME[0], HOME[1] + 0.003),  # ~330 m north
        description="Emergency food parcels.",
        provider="Trussell Trust",
        organisation_id=council.id,
        categories=queries.categories_by_slug(session, ["food-support"]),
        delivery="in person",
        opening_hours="Tue 10:00-12:00",
        eligibility="Referral needed",
        place_name="Testshire Community Centre",
        address="1 High Street",
        postcode="TE1 1ST",
        website="https://foodbank.example",
        contact_public="help@foodbank.example",
        service_area=db.to_wkb_element(MultiPolygon([box(-2.1, 53.4, -2.0, 53.5)])),
    )
    advice = make_service(
        session,
        "Advice Desk",
        (-1.95, 53.47),  # several km away, in the east ward
        provider="Citizens Advice",
        categories=queries.categories_by_slug(session, ["advice-money"]),
    )
    walking = make_group(
        session,
        "Walking Group",
        (HOME[0], HOME[1] + 0.001),  # ~110 m north
        description="Walks for everyone.",
        categories=["physical-activity", "older-people"],
        kind="charity",
        charity_number="1234567",
        website="https://walkers.example",
        contact_public="01632 960123",
        meeting_times="Mondays 10:00",
        address="Park Gate",
        postcode="TE1 1ST",
        organisation_id=lio.id,
        wards_served=[wards["E05000001"]],
        last_verified=date(2026, 1, 1),
    )
    plain = make_group(session, "Plain Group", (-1.95, 53.41))
    pending = make_group(session, "Pending Group", HOME, status="pending")
    closed = make_group(session, "Closed Group", HOME, status="closed")
    return {
        "food_bank": food_bank,
        "advice": advice,
        "walking": walking,
        "plain": plain,
        "pending": pending,
        "closed": closed,
    }


def get_json(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/json"
    return response.get_json()


def names(page):
    return [item["name"] for item in page["contents"]]


def test_api_information_names_the_version_profile_and_openapi(client, schemas):
    info = get_json(client, "/openreferral/")
    validate(schemas["information"], info)
    assert info["version"] == "3.0"
    assert info["profile"].startswith("https://")
    assert info["openapi_url"] == "http://localhost/api/openapi.json"


def test_services_page_lists_services_and_active_groups_each_valid(client, directory, schemas):
    page = get_json(client, "/openreferral/services")
    validate(schemas["page"], page)
    assert names(page) == ["Advice Desk", "Food Bank", "Plain Group", "Walking Group"]
    assert page["total_items"] == 4 and page["total_pages"] == 1 and page["size"] == 4
    assert page["first_page"] and page["last_page"] and not page["empty"]
    for item in page["contents"]:
        validate(schemas["service_list"], item)
    food = page["contents"][1]
    assert food["organization"]["name"] == "Testshire Council"
    assert food["organization_id"] == food["organization"]["id"]
    assert food["url"] == "https://foodbank.example" and food["email"] == "help@foodbank.example"
    assert "Referral needed" in food["description"]
    walking = page["contents"][3]
    assert walking["organization"]["name"] == "Walking Group"  # the group is the organisation
    assert "email" not in walking  # its public contact is a telephone number
    assert page["contents"][0]["organization"]["name"] == "Citizens Advice"  # a provider only


def test_no_personal_data_and_no_pending_or_closed_groups_anywhere(client, directory):
    answers = [client.get("/openreferral/services?per_page=100").get_data(as_text=True)]
    for item in client.get("/openreferral/services").get_json()["contents"]:
        answers.append(client.get(f"/openreferral/services/{item['id']}").get_data(as_text=True))
    text = "\n".join(answers)
    for secret in (
        "Pending Group",
        "Closed Group",
        "Casey",
        "casey@council.example",
        "01632 960001",
        "editor@lio.example",
        "Secret Registering LIO",
    ):
        assert secret not in text
    for name in ("pending", "closed"):
        record_id = openreferral.record_uuid("group", directory[name].id)
        assert client.get(f"/openreferral/services/{record_id}").status_code == 404


def test_full_services_validate_and_carry_their_related_records(client, directory, schemas):
    for item in get_json(client, "/openreferral/services")["contents"]:
        validate(schemas["service"], get_json(client, f"/openreferral/services/{item['id']}"))

    food = get_json(
        client,
        f"/openreferral/services/{openreferral.record_uuid('service', directory['food_bank'].id)}",
    )
    (at_location,) = food["service_at_locations"]
    location = at_location["location"]
    assert (location["longitude"], location["latitude"]) == (-2.05, 53.453)
    (address,) = location["addresses"]
    assert address["postal_code"] == "TE1 1ST" and address["address_1"] == "1 High Street"
    assert (address["city"], address["state_province"], address["country"]) == (
        "Testshire",
        "England",
        "GB",
    )
    assert food["schedules"][0]["description"] == "Tue 10:00-12:00"
    assert food["schedules"][0]["attending_type"] == "in person"
    assert json.loads(food["service_areas"][0]["extent"])["type"] == "MultiPolygon"
    assert location["name"] == "Testshire Community Centre"  # the place's, not its address
    assert food["contacts"] == []  # we hold no person or role; the email is the service's
    assert food["email"] == "help@foodbank.example"
    (attribute,) = food["attributes"]
    assert attribute["taxonomy_term"]["term"] == "food-support"
    assert attribute["taxonomy_term_id"] == attribute["taxonomy_term"]["id"]

    walking = get_json(
        client,
        f"/openreferral/services/{openreferral.record_uuid('group', directory['walking'].id)}",
    )
    assert walking["schedules"][0]["description"] == "Mondays 10:00"
    location = walking["service_at_locations"][0]["location"]
    assert "name" not in location  # we hold no name for a group's place; never its address
    assert walking["contacts"] == []
    assert [a["taxonomy_term"]["term"] for a in walking["attributes"]] == [
        "older-people",
        "physical-activity",
    ]
    assert [a["name"] for a in walking["service_areas"]] == ["East Ward"]
    (identifier,) = walking["organization"]["organization_identifiers"]
    assert identifier["identifier"] == "1234567" and identifier["identifier_scheme"] == "GB-CHC"


def test_ids_are_stable_distinct_uuids(client, directory):
    first = get_json(client, "/openreferral/services")["contents"]
    again = get_json(client, "/openreferral/services")["contents"]
    assert [i["id"] for i in first] == [i["id"] for i in again]
    # A service and a group with the same database id still get different ids.
    assert directory["food_bank"].id == directory["walking"].id == 1
    ids = [i["id"] for i in first] + [i["organization"]["id"] for i in first]
    assert len(set(ids)) == len(ids)
    for value in ids:
        assert str(uuid.UUID(value)) == value
    full = [get_json(client, f"/openreferral/services/{i['id']}") for i in first]
    nested = [
        x["id"]
        for s in full
        for key in ("schedules", "service_areas", "service_at_locations", "contacts")
        for x in s[key]
    ]
    assert len(set(nested)) == len(nested)


def test_record_ids_round_trip_and_reject_other_uuids():
    value = openreferral.record_uuid("group", 123_456_789)
    assert openreferral.parse_record_uuid(value) == ("group", 123_456_789)
    assert openreferral.parse_record_uuid(value.upper()) == ("group", 123_456_789)
    assert openreferral.record_uuid("service", 5) != openreferral.record_uuid("group", 5)
    assert openreferral.parse_record_uuid(str(uuid.uuid4())) is None
    assert openreferral.parse_record_uuid("12") is None


@pytest.mark.parametrize(
    "service_id",
    ["nope", "12", "00000000-0000-0000-0000-000000000000", "466fe5d5-fab8-4d2c-b19c-9a79bf25e0ab"],
)
def test_unknown_service_ids_are_404(client, directory, service_id):
    assert client.get(f"/openreferral/services/{service_id}").status_code == 404


def test_services_are_paged_with_page_and_per_page(client, directory, schemas):
    second = get_json(client, "/openreferral/services?page=2&per_page=3")
    validate(schemas["page"], second)
    assert names(second) == ["Walking Group"]
    assert (second["total_items"], second["total_pages"], second["page_number"]) == (4, 2, 2)
    assert (second["size"], second["first_page"], second["last_page"]) == (1, False, True)
    beyond = get_json(client, "/openreferral/services?page=9&per_page=3")
    assert beyond["empty"] and beyond["contents"] == [] and beyond["total_items"] == 4
    largest = get_json(client, "/openreferral/services?per_page=1000")
    assert largest["size"] == 4


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=first", "page"),
        ("per_page=0", "per_page"),
        ("per_page=1001", "per_page"),  # as documented: a limit is enforced, not capped
        ("proximity=500", "proximity"),
        ("postcode=TE1 1ST&proximity=far", "proximity"),
        ("postcode=TE1 1ST&proximity=-1", "proximity"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(client, directory, query, field):
    response = client.get(f"/openreferral/services?{query}")
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]


def test_a_postcode_not_in_the_directory_is_a_404_naming_it(client, directory):
    response = client.get("/openreferral/services?postcode=ZZ9 9ZZ")
    assert response.status_code == 404
    assert "postcode" in response.get_json()["error"]["fields"]


def test_search_matches_every_word_in_name_or_description(client, directory):
    assert names(get_json(client, "/openreferral/services?search=food")) == ["Food Bank"]
    assert names(get_json(client, "/openreferral/services?search=WALKS+everyone")) == [
        "Walking Group"
    ]
    assert names(get_json(client, "/openreferral/services?search=walks+food")) == []
    assert names(get_json(client, "/openreferral/services?search=100%25")) == []


def test_taxonomy_term_filter_takes_the_term_id_or_the_slug(client, directory):
    term = openreferral.term_id("older-people")
    assert names(get_json(client, f"/openreferral/services?taxonomy_term_id={term}")) == [
        "Walking Group"
    ]
    assert names(get_json(client, "/openreferral/services?taxonomy_term_id=food-support")) == [
        "Food Bank"
    ]
    unknown = get_json(client, f"/openreferral/services?taxonomy_term_id={uuid.uuid4()}")
    assert unknown["empty"] and unknown["total_items"] == 0


def test_postcode_orders_by_distance_and_proximity_keeps_the_near_ones(client, directory):
    nearest_first = get_json(client, "/openreferral/services?postcode=te11st")
    assert names(nearest_first)[:2] == ["Walking Group", "Food Bank"]
    assert len(names(nearest_first)) == 4
    assert names(get_json(client, "/openreferral/services?postcode=TE1+1ST&proximity=200")) == [
        "Walking Group"
    ]
    assert names(get_json(client, "/openreferral/services?postcode=TE1 1ST&proximity=400")) == [
        "Walking Group",
        "Food Bank",
    ]


def test_taxonomies_and_terms_are_our_categories(client, session, seeded_categories, schemas):
    taxonomies = get_json(client, "/openreferral/taxonomies")
    validate(schemas["page"], taxonomies)
    (taxonomy,) = taxonomies["contents"]
    assert get_json(client, f"/openreferral/taxonomies/{taxonomy['id']}") == taxonomy
    assert client.get(f"/openreferral/taxonomies/{uuid.uuid4()}").status_code == 404

    terms = get_json(client, "/openreferral/taxonomy_terms?per_page=100")
    validate(schemas["page"], terms)
    assert {t["term"] for t in terms["contents"]} == seeded_categories
    for term in terms["contents"]:
        validate(schemas["taxonomy_term"], term)
        assert term["taxonomy_id"] == taxonomy["id"]
    first = terms["contents"][0]
    assert get_json(client, f"/openreferral/taxonomy_terms/{first['id']}") == first
    assert get_json(client, f"/openreferral/taxonomy_terms/{first['term']}") == first
    assert client.get("/openreferral/taxonomy_terms/no-such-term").status_code == 404
    paged = get_json(client, "/openreferral/taxonomy_terms?per_page=5&page=2")
    assert paged["size"] == 5 and paged["page_number"] == 2
    assert paged["total_pages"] == -(-len(seeded_categories) // 5)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("colour=red", "colour"),
        ("minimum_age=12", "minimum_age"),  # the profile's, but we hold no ages
        ("day=MO", "day"),
        ("page=1&page=2", "page"),
        ("per_page=1001", "per_page"),
        ("proximity=500", "proximity"),
    ],
)
@pytest.mark.parametrize("path", ["/openreferral/services", "/openreferral/service_at_locations"])
def test_odd_parameters_are_a_400_naming_them(client, directory, path, query, field):
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert field in response.get_json()["error"]["fields"]


def test_lists_of_taxonomies_refuse_unknown_parameters(client, seeded_categories):
    response = client.get("/openreferral/taxonomy_terms?search=food")
    assert response.status_code == 400
    assert "search" in response.get_json()["error"]["fields"]


def test_service_at_locations_list_each_record_at_its_location(client, directory, schemas):
    page = get_json(client, "/openreferral/service_at_locations")
    validate(schemas["page"], page)
    assert [i["service"]["name"] for i in page["contents"]] == [
        "Advice Desk",
        "Food Bank",
        "Plain Group",
        "Walking Group",
    ]
    services = get_json(client, "/openreferral/services")["contents"]
    for item, service in zip(page["contents"], services, strict=True):
        validate(schemas["service_at_location_list"], item)
        assert item["service"] == service and item["service_id"] == service["id"]
        assert item["location_id"] == item["location"]["id"]
        assert "addresses" not in item["location"]  # a list holds one-to-one fields only
    full = get_json(client, f"/openreferral/services/{services[1]['id']}")
    (inside,) = full["service_at_locations"]
    assert inside["id"] == page["contents"][1]["id"]  # the same id in both places


def test_one_service_at_location_in_full_and_unknown_ids_are_404(client, directory, schemas):
    food = directory["food_bank"]
    at_id = openreferral.record_uuid("service", food.id, at_location=True)
    item = get_json(client, f"/openreferral/service_at_locations/{at_id}")
    validate(schemas["service_at_location"], item)
    assert item["id"] == at_id
    assert item["service"]["name"] == "Food Bank" and "service_at_locations" not in item["service"]
    (address,) = item["location"]["addresses"]
    assert address["postal_code"] == "TE1 1ST"
    assert item["service"]["attributes"][0]["taxonomy_term"]["term"] == "food-support"
    # The service's own id, a pending group's and a random UUID are not services at locations.
    pending = openreferral.record_uuid("group", directory["pending"].id, at_location=True)
    for wrong in (openreferral.record_uuid("service", food.id), pending, str(uuid.uuid4()), "x"):
        assert client.get(f"/openreferral/service_at_locations/{wrong}").status_code == 404


def test_service_at_locations_search_by_postcode_and_proximity(client, directory):
    def listed(query):
        page = get_json(client, f"/openreferral/service_at_locations?{query}")
        return [i["service"]["name"] for i in page["contents"]]

    assert listed("postcode=TE1 1ST")[:2] == ["Walking Group", "Food Bank"]
    assert len(listed("postcode=TE1 1ST")) == 4  # a postcode alone orders, keeps them all
    assert listed("postcode=TE1 1ST&proximity=200") == ["Walking Group"]
    assert listed("search=food&per_page=1") == ["Food Bank"]
    assert listed("taxonomy_term_id=older-people") == ["Walking Group"]
    response = client.get("/openreferral/service_at_locations?postcode=ZZ9 9ZZ")
    assert response.status_code == 404 and "postcode" in response.get_json()["error"]["fields"]


def test_our_paths_are_the_profiles_and_take_its_parameter_names(schemas):
    from mapper.api.openapi_openreferral import openreferral_paths

    theirs = schemas["openapi"]["paths"]
    ours = openreferral_paths()
    for path, item in theirs.items():
        our_path = "/openreferral" + path.replace("{id}", "{x}")
        matches = [p for p in ours if p.rsplit("{", 1)[0] == our_path.rsplit("{", 1)[0]]
        assert matches, f"{path} is not offered"
        names = {p["$ref"].rsplit("/", 1)[-1] for p in item.get("get", {}).get("parameters", [])}
        offered = {p["name"] for p in ours[matches[0]]["get"]["parameters"]}
        unsupported = {"taxonomy_id", "minimum_age", "maximum_age", "start_time", "end_time", "day"}
        assert names - unsupported <= offered, path
