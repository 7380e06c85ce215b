"""OGC API – Features: landing page, conformance, collections and items, JSON and HTML."""

import json
import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from shapely.geometry import Point, box
from sqlalchemy import select

from mapper.api import ogc_collections
from mapper.io import exports
from mapper.store import db
from mapper.store.models import Category, CommunityGroup, Coordinator, Organisation
from tests.factories import make_group, make_service, make_wards, two_wards

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"


def get_json(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json(force=True)


def rels(links):
    return {link["rel"]: link for link in links}


def add_groups(session, count, lonlat=(-2.05, 53.45), **values):
    """Store `count` active groups in one transaction; returns them in id order."""
    groups = [
        CommunityGroup(
            name=f"Group {i:03d}",
            geom=db.to_wkb_element(Point(lonlat[0], lonlat[1] + i / 10_000)),
            status="active",
            **values,
        )
        for i in range(count)
    ]
    session.add_all(groups)
    session.commit()
    return groups


def test_landing_page_links_to_the_api_definition_conformance_and_collections(client):
    data = get_json(client, "/ogc")
    links = rels(data["links"])
    assert {"self", "alternate", "service-desc", "conformance", "data"} <= links.keys()
    for link in data["links"]:
        assert link["href"].startswith("http://localhost/") and link["type"] and link["title"]
    assert links["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert links["alternate"]["type"] == "text/html"
    api = client.get(urlsplit(links["service-desc"]["href"]).path)
    assert api.status_code == 200 and api.get_json(force=True)["openapi"].startswith("3.0")


def test_conformance_declares_core_geojson_html_and_openapi(client):
    conforms = get_json(client, "/ogc/conformance")["conformsTo"]
    assert CORE in conforms
    for name in ("geojson", "html", "oas30"):
        assert f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{name}" in conforms


def test_collections_describe_wards_groups_and_services_with_their_extent(client, session):
    two_wards(session)
    make_group(session, "Club", (-2.05, 53.45))
    make_group(session, "Far pending club", (1.0, 51.0), status="pending")
    data = get_json(client, "/ogc/collections")
    found = {c["id"]: c for c in data["collections"]}
    assert list(found) == ["wards", "groups", "services", "gaps"]
    assert found["wards"]["extent"]["spatial"]["bbox"] == [[-2.1, 53.4, -1.9, 53.5]]
    assert found["gaps"]["extent"] == found["wards"]["extent"]
    # The pending group far away does not stretch the published extent.
    assert found["groups"]["extent"]["spatial"]["bbox"] == [[-2.05, 53.45, -2.05, 53.45]]
    assert "extent" not in found["services"]  # nothing stored yet
    for collection in found.values():
        items = [link for link in collection["links"] if link["rel"] == "items"]
        assert {link["type"] for link in items} == {"application/geo+json", "text/html"}
    single = get_json(client, "/ogc/collections/groups")
    assert single["id"] == "groups" and rels(single["links"])["self"]["type"] == "application/json"


def test_unknown_collection_and_feature_are_404(client, session):
    two_wards(session)
    assert client.get("/ogc/collections/coordinators").status_code == 404
    assert client.get("/ogc/collections/coordinators/items").status_code == 404
    assert client.get("/ogc/collections/groups/items/999").status_code == 404
    assert client.get("/ogc/collections/groups/items/abc").status_code == 404
    assert client.get("/ogc/collections/wards/items/E05999999").status_code == 404


def test_items_are_rfc7946_geojson_with_counts_and_links(client, session):
    two_wards(session)
    make_group(session, "Club", (-2.05, 53.45), categories=["faith"])
    response = client.get("/ogc/collections/groups/items")
    assert response.status_code == 200
    assert response.content_type == "application/geo+json"
    data = response.get_json(force=True)
    assert data["type"] == "FeatureCollection" and "crs" not in data
    assert data["numberMatched"] == 1 and data["numberReturned"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["timeStamp"])
    links = rels(data["links"])
    assert links["self"]["type"] == "application/geo+json"
    assert links["alternate"]["type"] == "text/html"
    assert links["collection"]["href"] == "http://localhost/ogc/collections/groups"
    assert "next" not in links
    feature = data["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": [-2.05, 53.45]}
    assert feature["properties"]["ward_code"] == "E05000002"


def test_items_publish_active_groups_and_public_fields_only(client, session):
    two_wards(session)
    lio = Organisation(name="Registering LIO")
    session.add(lio)
    session.add(
        Coordinator(name="Casey Coordinator", email="casey@council.example", phone="01632 960001")
    )
    session.commit()
    make_group(session, "Active", (-2.05, 53.45), organisation_id=lio.id)
    make_group(session, "Pending", (-2.05, 53.46), status="pending")
    make_group(session, "Closed", (-2.05, 53.47), status="closed")
    for url in ("/ogc/collections/groups/items", "/ogc/collections/groups/items?f=html"):
        text = client.get(url).get_data(as_text=True)
        assert "Active" in text
        for secret in ("Pending", "Closed", "Registering LIO", "Casey", "casey@"):
            assert secret not in text
    data = get_json(client, "/ogc/collections/groups/items")
    assert data["numberMatched"] == 1
    props = data["features"][0]["properties"]
    assert "organisation_id" not in props and "created_by_id" not in props
    pending = session.query(CommunityGroup).filter_by(name="Pending").one()
    assert client.get(f"/ogc/collections/groups/items/{pending.id}").status_code == 404


def test_limit_defaults_to_100_and_paging_reads_every_item_once(client, session):
    two_wards(session)
    groups = add_groups(session, 101)
    first = get_json(client, "/ogc/collections/groups/items")
    assert first["numberReturned"] == 100 and first["numberMatched"] == 101
    ids, url, pages = [], "/ogc/collections/groups/items?limit=7", 0
    while url:
        data = get_json(client, url)
        assert data["numberMatched"] == 101
        ids += [f["id"] for f in data["features"]]
        url = rels(data["links"]).get("next", {}).get("href")
        pages += 1
    assert ids == [g.id for g in groups]
    assert pages == 15  # 14 full pages and one of 3: no empty page at the end


def test_a_limit_above_the_maximum_is_capped(client, session, monkeypatch):
    two_wards(session)
    add_groups(session, 5)
    monkeypatch.setattr(ogc_collections, "MAX_LIMIT", 3)
    data = get_json(client, "/ogc/collections/groups/items?limit=50")
    assert data["numberReturned"] == 3
    next_query = parse_qs(urlsplit(rels(data["links"])["next"]["href"]).query)
    assert next_query["limit"] == ["3"]
    monkeypatch.undo()
    assert get_json(client, "/ogc/collections/groups/items?limit=10001")["numberReturned"] == 5


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=-5", "limit"),
        ("limit=ten", "limit"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=-1,54,-2,53", "bbox"),
        ("bbox=1,2,3,4,5", "bbox"),
        ("bbox=-190,50,1,54", "bbox"),
        ("bbox=nan,50,1,54", "bbox"),
        ("after=x", "after"),
        ("ward_code=Ashcombe", "ward_code"),
        ("la_code=12", "la_code"),
        ("category=<script>", "category"),
        ("f=xml", "f"),
        ("datetime=yesterday", "datetime"),
        ("colour=red", "colour"),
    ],
)
def test_bad_item_parameters_are_a_400_naming_the_parameter(client, query, field):
    response = client.get(f"/ogc/collections/groups/items?{query}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert field in error["fields"] and field in error["message"]


@pytest.mark.parametrize("collection", list(ogc_collections.COLLECTIONS))
def test_each_documented_bound_and_choice_of_the_items_is_the_one_enforced(client, collection):
    spec = client.get("/api/openapi.json").get_json()
    operation = spec["paths"][f"/ogc/collections/{collection}/items"]["get"]
    checked = set()
    for parameter in operation["parameters"]:
        schema, name = parameter["schema"], parameter["name"]
        for key, step in (("minimum", -1), ("maximum", 1)):
            if key in schema:
                checked.add(f"{name}.{key}")
                url = f"/ogc/collections/{collection}/items?f=json&{name}="
                assert client.get(f"{url}{schema[key]}").status_code == 200, (name, key)
                beyond = client.get(f"{url}{schema[key] + step}")
                assert beyond.status_code == 400 and name in beyond.get_json()["error"]["fields"]
        for value in schema.get("enum", []):
            url = f"/ogc/collections/{collection}/items?{name}={value}"
            assert client.get(url).status_code == 200, url
    # limit: no maximum, a larger one is served as the maximum (clause 7.15.4)
    assert "limit.minimum" in checked and "limit.maximum" not in checked


@pytest.mark.parametrize("name", ["crs", "f", "limit", "bbox"])
def test_an_items_parameter_given_twice_is_a_400(client, name):
    value = {
        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        "f": "json",
        "limit": "5",
        "bbox": "1,2,3,4",
    }
    response = client.get(
        f"/ogc/collections/groups/items?{name}={value[name]}&{name}={value[name]}"
    )
    assert response.status_code == 400 and name in response.get_json()["error"]["fields"]


def test_a_filter_another_collection_lacks_is_a_400(client):
    response = client.get("/ogc/collections/wards/items?category=faith")
    assert response.status_code == 400 and "category" in response.get_json()["error"]["fields"]


def test_datetime_is_accepted_and_selects_everything(client, session):
    two_wards(session)
    make_group(session, "Club", (-2.05, 53.45))
    for value in ("2024-01-01", "2024-01-01T00:00:00Z", "../2030-01-01", "2020-01-01/.."):
        assert (
            get_json(client, f"/ogc/collections/groups/items?datetime={value}")["numberMatched"]
            == 1
        )


def test_groups_filter_by_bbox_local_authority_ward_and_category(client, session):
    two_wards(session)
    make_wards(session, {"E05000003": ("Far", box(0, 51, 0.1, 51.1))}, la_code="E08000098")
    make_group(session, "West Faith", (-2.05, 53.45), categories=["faith"])
    make_group(session, "East Food", (-1.95, 53.45), categories=["food-support"])
    make_group(session, "Far Food", (0.05, 51.05), categories=["food-support", "faith"])

    def names(query):
        data = get_json(client, f"/ogc/collections/groups/items?{query}")
        assert data["numberMatched"] == data["numberReturned"]
        return sorted(f["properties"]["name"] for f in data["features"])

    assert names("bbox=-2.1,53.4,-2.01,53.5") == ["West Faith"]
    assert names("la_code=E08000099") == ["East Food", "West Faith"]
    assert names("la_code=e08000098") == ["Far Food"]
    assert names("ward_code=E05000001,E05000003") == ["East Food", "Far Food"]
    assert names("category=faith") == ["Far Food", "West Faith"]
    assert names("category=faith&la_code=E08000099") == ["West Faith"]
    assert names("bbox=-3,50,1,54&category=food-support&ward_code=E05000001") == ["East Food"]


def test_number_matched_counts_every_match_not_just_the_page(client, session):
    two_wards(session)
    add_groups(session, 12, lonlat=(-2.05, 53.41))
    add_groups(session, 4, lonlat=(-1.95, 53.41))
    data = get_json(client, "/ogc/collections/groups/items?bbox=-2.1,53.4,-2.01,53.5&limit=5")
    assert data["numberMatched"] == 12 and data["numberReturned"] == 5


def test_group_items_are_the_public_features_of_each_group(client, session):
    """The page read as flat rows says exactly what the ORM's group_properties says."""
    two_wards(session)
    session.add(Category(id=70, slug="aa-beyond-the-mask", name="An admin's category"))
    session.commit()
    make_group(session, "Plain", (-2.05, 53.45))
    make_group(
        session,
        "Full",
        (-2.0512345, 53.4567891),
        categories=["faith", "food-support", "aa-beyond-the-mask"],
        kind="Faith group",
        address="1 High Street",
        postcode="M1 1AA",
        website="https://full.example",
        contact_public="hello@full.example",
        meeting_times="Sundays",
        charity_number="1234567",
        org_ids=["GB-COH-01234567", "GB-CHC-1234567"],
        last_verified=date(2026, 1, 2),
    )
    make_group(session, "Near", (-2.04, 53.44), location_precision="approximate", address="2 Rd")
    make_group(session, "Unseen", (-1.95, 53.45), location_precision="hidden", postcode="M2 2BB")
    make_group(session, "Nowhere", (0.5, 51.5), categories=["faith"])  # in no ward
    groups = session.scalars(select(CommunityGroup).order_by(CommunityGroup.id)).all()
    expected = exports.located_features(groups, exports.group_properties)
    data = get_json(client, "/ogc/collections/groups/items?limit=2")
    features = data["features"]
    while "next" in rels(data["links"]):
        data = get_json(client, rels(data["links"])["next"]["href"])
        features += data["features"]
    assert features == json.loads(json.dumps(expected))
    assert features[1]["properties"]["categories"] == [
        "aa-beyond-the-mask",
        "faith",
        "food-support",
    ]
    assert features[1]["properties"]["org_ids"] == ["GB-CHC-1234567", "GB-COH-01234567"]
    assert features[2]["properties"]["address"] is None and features[3]["geometry"] is None


def test_number_matched_is_fresh_after_a_write(client, session):
    two_wards(session)
    add_groups(session, 3)
    assert get_json(client, "/ogc/collections/groups/items?limit=1")["numberMatched"] == 3
    add_groups(session, 2)
    data = get_json(client, "/ogc/collections/groups/items?limit=1")
    assert data["numberMatched"] == 5
    assert get_json(client, rels(data["links"])["next"]["href"])["numberMatched"] == 5


def test_services_and_wards_are_collections_too(client, session):
    two_wards(session)
    make_service(session, "Food Bank", (-1.95, 53.45), provider="Trussell", status="active")
    make_service(session, "Old Library", (-1.95, 53.46), status="closed")
    services = get_json(client, "/ogc/collections/services/items")
    assert [f["properties"]["name"] for f in services["features"]] == ["Food Bank"]
    assert services["features"][0]["properties"]["ward_code"] == "E05000001"
    assert services["features"][0]["properties"]["provider"] == "Trussell"
    wards = get_json(client, "/ogc/collections/wards/items?limit=1")
    assert [f["id"] for f in wards["features"]] == ["E05000001"]
    assert wards["numberMatched"] == 2
    following = get_json(client, rels(wards["links"])["next"]["href"])
    assert [f["id"] for f in following["features"]] == ["E05000002"]
    assert "next" not in rels(following["links"])
    ward = get_json(client, "/ogc/collections/wards/items/e05000002")
    assert ward["properties"]["ward_name"] == "West Ward"
    # RFC 7946: exterior rings counter-clockwise.
    ring = ward["geometry"]["coordinates"][0][0]
    area2 = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False))
    assert area2 > 0


def test_one_item_links_to_itself_and_its_collection(client, session):
    two_wards(session)
    group = make_group(session, "Club", (-2.05, 53.45))
    response = client.get(f"/ogc/collections/groups/items/{group.id}")
    assert response.content_type == "application/geo+json"
    feature = response.get_json(force=True)
    assert feature["id"] == group.id and feature["properties"]["name"] == "Club"
    links = rels(feature["links"])
    assert links["self"]["href"].startswith(
        f"http://localhost/ogc/collections/groups/items/{group.id}"
    )
    assert links["collection"]["href"] == "http://localhost/ogc/collections/groups"


@pytest.mark.parametrize(
    "url",
    [
        "/ogc",
        "/ogc/conformance",
        "/ogc/collections",
        "/ogc/collections/groups",
        "/ogc/collections/groups/items",
        "/ogc/collections/wards/items",
        "/ogc/collections/groups/items/{id}",
    ],
)
def test_every_resource_has_an_html_page_of_our_own(client, session, url):
    two_wards(session)
    group = make_group(session, "Club <b>&</b>", (-2.05, 53.45))
    url = url.format(id=group.id)
    for response in (
        client.get(f"{url}?f=html"),
        client.get(url, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}),
    ):
        assert response.status_code == 200
        assert response.content_type.startswith("text/html")
        html = response.get_data(as_text=True)
        assert '<link rel="stylesheet" href="/static/css/site.css">' in html
        assert "<h1>" in html and "Club <b>" not in html
        for address in re.findall(r'(?:href|src)="([^"]+)"', html):
            assert address.startswith(("/", "#", "http://localhost/")), address


def test_items_html_links_to_the_next_page(client, session):
    two_wards(session)
    add_groups(session, 3)
    html = client.get("/ogc/collections/groups/items?f=html&limit=2").get_data(as_text=True)
    assert "3 matching" in html
    next_href = re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "f=html" in next_href
    following = client.get(urlsplit(next_href).path + "?" + urlsplit(next_href).query)
    assert "Group 002" in following.get_data(as_text=True)


def test_errors_asked_for_as_html_are_pages(client):
    response = client.get("/ogc/collections/nothing?f=html")
    assert response.status_code == 404 and response.content_type.startswith("text/html")
    assert "nothing" in response.get_data(as_text=True)
    assert client.get("/ogc/collections/nothing").get_json()["error"]["code"] == "not_found"
