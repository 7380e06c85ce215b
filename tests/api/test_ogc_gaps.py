"""The gap analysis as an OGC API collection: the same analysis as /gaps.geojson, paged."""

import json

import pytest
from shapely.geometry import box

from tests.factories import make_group, make_service, make_wards, two_wards


@pytest.fixture
def borough(session):
    """Two authorities: three wards in E08000099 and one far away in E08000098."""
    two_wards(session)
    make_wards(session, {"E05000003": ("North Ward", box(-2.1, 53.5, -2.0, 53.6))})
    make_wards(session, {"E05000009": ("Far Ward", box(0, 51, 0.1, 51.1))}, la_code="E08000098")
    make_group(session, "West Faith", (-2.05, 53.45), categories=["faith"], kind="charity")
    make_group(session, "West Food", (-2.06, 53.45), categories=["food-support"])
    make_group(session, "East Faith", (-1.95, 53.45), categories=["faith"], kind="charity")
    make_group(session, "Pending", (-1.95, 53.46), status="pending", categories=["faith"])
    make_service(session, "Food Bank", (-2.05, 53.55))


def download(client, query=""):
    response = client.get(f"/gaps.geojson?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return json.loads(response.get_data(as_text=True))["features"]


def every_item(client, url):
    """Follow the next links; return (features, numberMatched of each page, pages read)."""
    found, matched, pages = [], set(), 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.content_type == "application/geo+json"
        data = response.get_json(force=True)
        found += data["features"]
        matched.add(data["numberMatched"])
        url = next((link["href"] for link in data["links"] if link["rel"] == "next"), None)
        pages += 1
    return found, matched, pages


@pytest.mark.parametrize(
    "query",
    ["", "la=E08000099", "la=E08000099&category=faith", "kind=charity", "as_of=2024-06-01"],
)
def test_items_are_the_download_of_the_same_analysis(client, borough, query):
    expected = download(client, query)
    found, matched, pages = every_item(client, f"/ogc/collections/gaps/items?limit=2&{query}")
    assert matched == {len(expected)}
    assert pages == (len(expected) + 1) // 2
    # The items come in ward order; the download leads with a ward whose lists are filled
    # (exports.typed_first, so that GDAL reads every list as a StringList), then ward order.
    assert [f["id"] for f in found] == sorted(f["id"] for f in expected)
    by_id = {f["id"]: f for f in expected}
    kept = ("type", "id", "geometry", "properties")
    assert [{k: f[k] for k in kept} for f in found] == [by_id[f["id"]] for f in found]


def test_property_filters_and_bbox_choose_wards_without_changing_the_analysis(client, borough):
    whole = {f["id"]: f["properties"] for f in download(client)}

    def chosen(query):
        data = client.get(f"/ogc/collections/gaps/items?{query}").get_json(force=True)
        assert data["numberMatched"] == data["numberReturned"]
        for feature in data["features"]:
            assert feature["properties"] == whole[feature["id"]]
        return [f["id"] for f in data["features"]]

    assert chosen("la_code=E08000098") == ["E05000009"]
    assert chosen("ward_code=E05000001,E05000003") == ["E05000001", "E05000003"]
    assert chosen("bbox=-2.09,53.41,-2.01,53.49") == ["E05000002"]
    assert chosen("bbox=-3,50,1,60&la_code=E08000099") == ["E05000001", "E05000002", "E05000003"]
    # la, unlike la_code, sets the scope of the analysis itself, as for the download.
    scoped = client.get("/ogc/collections/gaps/items?la=E08000098").get_json(force=True)
    assert [f["id"] for f in scoped["features"]] == ["E05000009"]


def test_one_item_is_the_ward_of_the_same_analysis(client, borough):
    expected = {f["id"]: f for f in download(client, "la=E08000099&category=faith")}
    response = client.get("/ogc/collections/gaps/items/e05000001?la=E08000099&category=faith")
    assert response.status_code == 200 and response.content_type == "application/geo+json"
    feature = response.get_json(force=True)
    assert feature["properties"] == expected["E05000001"]["properties"]
    assert feature["geometry"] == expected["E05000001"]["geometry"]
    self_link = next(link for link in feature["links"] if link["rel"] == "self")
    assert "la=E08000099" in self_link["href"] and "category=faith" in self_link["href"]
    assert client.get("/ogc/collections/gaps/items/E05000009?la=E08000099").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("la=Trafford", "la"),
        ("ward=E0500000", "ward"),
        ("category=no-such-category", "category"),
        ("as_of=yesterday", "as_of"),
        ("la_code=x", "la_code"),
        ("status=closed", "status"),
    ],
)
def test_bad_gap_parameters_are_a_400_naming_them(client, borough, query, field):
    for url in (
        f"/ogc/collections/gaps/items?{query}",
        f"/ogc/collections/gaps/items/E05000001?{query}",
    ):
        response = client.get(url)
        assert response.status_code == 400, (url, response.status_code)
        assert field in response.get_json()["error"]["fields"]


def test_the_html_page_links_each_ward_within_the_same_analysis(client, borough):
    html = client.get("/ogc/collections/gaps/items?f=html&la=E08000099").get_data(as_text=True)
    assert "3 of 3 matching" in html
    assert "/ogc/collections/gaps/items/E05000001?f=html&amp;la=E08000099" in html
    page = client.get("/ogc/collections/gaps/items/E05000001?f=html&la=E08000099")
    assert page.status_code == 200 and "activity_class" in page.get_data(as_text=True)
