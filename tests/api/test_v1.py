import pytest
from shapely.geometry import box

from tests.factories import make_group, make_wards, two_wards


def test_wards_are_a_geojson_feature_collection_with_the_documented_properties(client, session):
    two_wards(session)
    response = client.get("/api/v1/wards")
    assert response.status_code == 200
    assert response.content_type == "application/geo+json"
    data = response.get_json(force=True)
    assert data["type"] == "FeatureCollection" and "crs" not in data
    assert [f["properties"] for f in data["features"]] == [
        {
            "ward_code": "E05000001",
            "ward_name": "East Ward",
            "la_code": "E08000099",
            "la_name": "Testshire",
            "vintage": "2024",
            "population": None,
        },
        {
            "ward_code": "E05000002",
            "ward_name": "West Ward",
            "la_code": "E08000099",
            "la_name": "Testshire",
            "vintage": "2024",
            "population": None,
        },
    ]
    assert data["features"][0]["geometry"]["type"] == "MultiPolygon"


def test_wards_can_be_filtered_by_local_authority(client, session):
    two_wards(session)
    make_wards(session, {"E05000003": ("Other", box(0, 51, 0.1, 51.1))}, la_code="E08000098")

    def codes(url):
        return [
            f["properties"]["ward_code"] for f in client.get(url).get_json(force=True)["features"]
        ]

    assert codes("/api/v1/wards?la=E08000098") == ["E05000003"]
    assert codes("/api/v1/wards?la=e08000099") == ["E05000001", "E05000002"]
    assert codes("/api/v1/wards?la=E08000098,E08000099") == ["E05000001", "E05000002", "E05000003"]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/wards?la=Trafford", "la"),
        ("/api/v1/groups?bbox=1,2,3", "bbox"),
        ("/api/v1/groups?bbox=10,60,5,50", "bbox"),
        ("/api/v1/groups?limit=0", "limit"),
        ("/api/v1/groups?limit=many", "limit"),
        ("/api/v1/groups?ward=12", "ward"),
    ],
)
def test_bad_parameters_get_a_400_naming_the_parameter(client, url, field):
    response = client.get(url)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "bad_request" and field in error["fields"]
    assert field in error["message"]


def test_anonymous_group_list_shows_active_groups_with_public_fields_only(client, session):
    two_wards(session)
    make_group(
        session,
        "Active Club",
        (-2.05, 53.45),
        categories=["faith"],
        contact_public="hello@club.example",
    )
    make_group(session, "Pending Club", (-2.05, 53.46), status="pending")
    make_group(session, "Closed Club", (-2.05, 53.47), status="closed")
    data = client.get("/api/v1/groups").get_json(force=True)
    assert [f["properties"]["name"] for f in data["features"]] == ["Active Club"]
    props = data["features"][0]["properties"]
    assert props["ward_code"] == "E05000002" and props["categories"] == ["faith"]
    assert "organisation_id" not in props and "created_by_id" not in props


def test_group_list_pages_with_a_next_link(client, session):
    two_wards(session)
    for i in range(5):
        make_group(session, f"Group {i}", (-2.05, 53.41 + i / 100))
    names, url = [], "/api/v1/groups?limit=2"
    while url:
        data = client.get(url).get_json(force=True)
        names += [f["properties"]["name"] for f in data["features"]]
        url = next((link["href"] for link in data["links"] if link["rel"] == "next"), None)
    assert names == [f"Group {i}" for i in range(5)]


def test_group_list_filters_by_bbox_ward_and_category(client, session):
    two_wards(session)
    make_group(session, "West Faith", (-2.05, 53.45), categories=["faith"])
    make_group(session, "East Food", (-1.95, 53.45), categories=["food-support"])

    def names(url):
        return [f["properties"]["name"] for f in client.get(url).get_json(force=True)["features"]]

    assert names("/api/v1/groups?bbox=-2.1,53.4,-2.01,53.5") == ["West Faith"]
    assert names("/api/v1/groups?ward=E05000001") == ["East Food"]
    assert names("/api/v1/groups?category=faith") == ["West Faith"]


def test_a_pending_group_is_not_found_publicly(client, session):
    two_wards(session)
    group = make_group(session, "Pending", (-2.05, 53.45), status="pending")
    assert client.get(f"/api/v1/groups/{group.id}").status_code == 404
    group.status = "active"
    session.commit()
    assert client.get(f"/api/v1/groups/{group.id}").status_code == 200
