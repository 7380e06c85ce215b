"""OGC API – Features Part 2: features and boxes in CRS84, EPSG:4326 (lat/lon) and British
National Grid, on the real Manchester wards and polling stations, read by GDAL and OWSLib."""

import json

import numpy as np
import pyproj
import pytest
from owslib.ogcapi.features import Features
from shapely.geometry import shape

from tests.api.test_ogc_gdal import gdal
from tests.factories import load_manchester

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
BNG = "http://www.opengis.net/def/crs/EPSG/0/27700"
CENTIMETRE_IN_DEGREES = 1e-7  # about 1 cm of latitude (and less of longitude here)
TO_BNG = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)


@pytest.fixture
def manchester(session, geodata):
    stations = load_manchester(session, geodata)
    session.commit()
    return stations


def items(client, collection, query="", status=200):
    limit = "" if "limit=" in query else "limit=1000&"
    response = client.get(f"/ogc/collections/{collection}/items?{limit}f=json&{query}")
    assert response.status_code == status, response.get_data(as_text=True)
    return response


def coordinates(feature):
    """Return the exterior rings' coordinates of a MultiPolygon feature as one array."""
    return np.concatenate([np.asarray(g.exterior.coords) for g in shape(feature["geometry"]).geoms])


def test_the_collections_say_which_crs_they_are_served_in(client, manchester):
    for collection in client.get("/ogc/collections?f=json").get_json()["collections"]:
        assert collection["crs"] == [CRS84, EPSG_4326, BNG]
        assert collection["storageCrs"] == CRS84
    conformance = client.get("/ogc/conformance?f=json").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conformance


def test_wards_in_each_crs_land_where_the_crs84_ones_do(client, manchester):
    response = items(client, "wards")
    assert response.headers["Content-Crs"] == f"<{CRS84}>"
    plain = {f["id"]: f for f in response.get_json()["features"]}
    assert len(plain) == 32
    swapped = items(client, "wards", f"crs={EPSG_4326}")
    assert swapped.headers["Content-Crs"] == f"<{EPSG_4326}>"
    for feature in swapped.get_json()["features"]:
        np.testing.assert_array_equal(
            coordinates(feature), coordinates(plain[feature["id"]])[:, ::-1]
        )
    grid = items(client, "wards", f"crs={BNG}")
    assert grid.headers["Content-Crs"] == f"<{BNG}>"
    assert grid.get_json()["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::27700"
    for feature in grid.get_json()["features"]:
        lonlat = coordinates(plain[feature["id"]])
        expected = np.column_stack(TO_BNG.transform(lonlat[:, 0], lonlat[:, 1]))
        assert np.abs(coordinates(feature) - expected).max() < 0.01  # metres
        easting, northing = coordinates(feature).mean(axis=0)  # Manchester, in metres
        assert 370_000 < easting < 400_000 and 380_000 < northing < 410_000


def test_one_feature_in_british_national_grid(client, manchester):
    group_id = items(client, "groups", "limit=1").get_json()["features"][0]["id"]
    response = client.get(f"/ogc/collections/groups/items/{group_id}?f=json&crs={BNG}")
    assert response.status_code == 200 and response.headers["Content-Crs"] == f"<{BNG}>"
    plain = client.get(f"/ogc/collections/groups/items/{group_id}?f=json").get_json()
    lon, lat = plain["geometry"]["coordinates"]
    expected = TO_BNG.transform(lon, lat)
    np.testing.assert_allclose(response.get_json()["geometry"]["coordinates"], expected, atol=0.01)
    swapped = client.get(f"/ogc/collections/groups/items/{group_id}?f=json&crs={EPSG_4326}")
    assert swapped.get_json()["geometry"]["coordinates"] == [lat, lon]


def test_a_bbox_in_each_crs_selects_the_same_stations(client, manchester):
    box = (-2.26, 53.46, -2.22, 53.49)
    crs84 = items(client, "groups", "bbox=" + ",".join(map(str, box))).get_json()["features"]
    crs84_ids = {f["id"] for f in crs84}
    assert crs84_ids
    latlon = f"{box[1]},{box[0]},{box[3]},{box[2]}"
    got = items(client, "groups", f"bbox={latlon}&bbox-crs={EPSG_4326}").get_json()["features"]
    assert {f["id"] for f in got} == crs84_ids


def test_a_bbox_in_british_national_grid_is_exact_to_the_metre(client, manchester):
    features = items(client, "groups").get_json()["features"]
    inside, outside = features[0], features[1]
    x, y = TO_BNG.transform(*inside["geometry"]["coordinates"])
    ox, oy = TO_BNG.transform(*outside["geometry"]["coordinates"])
    # A box around the first station, its east edge 1 m short of the second one's easting
    # when that one lies east (else its west edge 1 m short of it).
    east = ox - 1 if ox > x else x + 5
    west = ox + 1 if ox <= x else x - 5
    query = f"bbox={west},{min(y, oy) - 5},{east},{max(y, oy) + 5}&bbox-crs={BNG}"
    got = {f["id"] for f in items(client, "groups", query).get_json()["features"]}
    assert inside["id"] in got and outside["id"] not in got
    low, high = (min(x, ox) - 5, min(y, oy) - 5), (max(x, ox) + 5, max(y, oy) + 5)
    wider = f"bbox={low[0]},{low[1]},{high[0]},{high[1]}&bbox-crs={BNG}"
    got = {f["id"] for f in items(client, "groups", wider).get_json()["features"]}
    assert {inside["id"], outside["id"]} <= got
    for collection in ("wards", "gaps"):
        found = items(client, collection, query).get_json()["features"]
        assert found  # the ward around the station, by its geometry


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("crs=EPSG:27700", "crs"),
        ("crs=http://www.opengis.net/def/crs/EPSG/0/3857", "crs"),
        (f"bbox=1,2,3,4&bbox-crs={BNG}x", "bbox-crs"),
        (f"bbox-crs={BNG}x", "bbox-crs"),
        (f"bbox=-10,0,5,5&bbox-crs={BNG}", "bbox"),
        (f"bbox=5,5,1,1&bbox-crs={BNG}", "bbox"),
        (f"crs={BNG}&crs={BNG}", "crs"),
    ],
)
def test_an_unsupported_crs_or_box_is_a_400_naming_the_parameter(client, manchester, query, name):
    body = items(client, "groups", query, status=400).get_json()
    assert name in json.dumps(body)
    response = client.get(f"/ogc/collections/wards/items/E05011356?f=json&{query}")
    assert response.status_code == 400


def test_gdal_reads_wards_in_british_national_grid_where_the_crs84_ones_are(
    client, live_server, manchester, tmp_path
):
    url = f"{live_server}/ogc/collections/wards/items?f=json&limit=1000&crs={BNG}"
    summary = gdal("ogrinfo", "-ro", "-so", "-al", f"GeoJSON:{url}")
    assert "British National Grid" in summary and 'ID["EPSG",27700]' in summary, summary
    out = tmp_path / "back.geojson"
    gdal("ogr2ogr", "-f", "GeoJSON", "-t_srs", "EPSG:4326", str(out), f"GeoJSON:{url}")
    back = {f["properties"]["ward_code"]: f for f in json.loads(out.read_text())["features"]}
    plain = {f["id"]: f for f in items(client, "wards").get_json()["features"]}
    assert set(back) == set(plain)
    for code, feature in back.items():
        gap = np.abs(coordinates(feature) - coordinates(plain[code])).max()
        assert gap < CENTIMETRE_IN_DEGREES, (code, gap)


def test_owslib_reads_features_in_british_national_grid(live_server, manchester, monkeypatch):
    # No proxy for the loopback server; requests would otherwise honour one from the environment.
    monkeypatch.setenv("NO_PROXY", "*")
    features = Features(f"{live_server}/ogc")
    assert BNG in features.collection("wards")["crs"]
    page = features.collection_items("groups", crs=BNG, limit=5)
    plain = features.collection_items("groups", limit=5)
    for grid, lonlat in zip(page["features"], plain["features"], strict=True):
        expected = TO_BNG.transform(*lonlat["geometry"]["coordinates"])
        np.testing.assert_allclose(grid["geometry"]["coordinates"], expected, atol=0.01)
