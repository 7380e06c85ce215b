"""A real GIS client: GDAL's OAPIF driver (the one QGIS uses) reads our OGC API over HTTP."""

import json
import shutil
import subprocess

import pytest
from flask import request
from shapely.geometry import box

from tests.factories import make_group, make_service, make_wards, two_wards


def gdal(*args):
    if shutil.which(args[0]) is None:
        pytest.fail(f"{args[0]} is missing: install gdal-bin (scripts/setup.sh --test)")
    result = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=120,
        # No proxy for the loopback server; GDAL would otherwise honour one from the environment.
        env={"PATH": "/usr/bin:/bin", "NO_PROXY": "*", "CPL_DEBUG": "OFF"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def ogr2ogr(server, out, collection, *options):
    """Copy a collection to a GeoJSON file in pages of 2 (smaller than every collection, so
    GDAL must follow the next links); return the features."""
    gdal(
        "ogr2ogr",
        "-f",
        "GeoJSON",
        str(out),
        f"OAPIF:{server}/ogc",
        collection,
        *options,
        "-oo",
        "PAGE_SIZE=2",
    )
    return json.loads(out.read_text())["features"]


@pytest.fixture
def stored(session):
    two_wards(session)
    make_wards(session, {"E05000003": ("Third Ward", box(-2.2, 53.4, -2.1, 53.5))})
    names = [f"Group {i}" for i in range(7)]
    for i, name in enumerate(names):
        make_group(session, name, (-2.08 + i * 0.02, 53.45), categories=["faith"])
    make_group(session, "Pending group", (-2.05, 53.41), status="pending")
    make_service(session, "Food Bank", (-1.95, 53.45))
    make_service(session, "Advice Desk", (-2.05, 53.42))
    make_service(session, "Library", (-2.03, 53.43))
    make_service(session, "Closed Library", (-2.03, 53.44), status="closed")
    return {"groups": names, "services": ["Food Bank", "Advice Desk", "Library"]}


def test_ogrinfo_lists_the_collections(live_server, stored):
    listing = gdal("ogrinfo", "-ro", "-q", f"OAPIF:{live_server}/ogc")
    for number, name in enumerate(["wards", "groups", "services", "gaps"], start=1):
        assert f"{number}: {name}" in listing


@pytest.mark.parametrize("collection", ["groups", "services", "wards", "gaps"])
def test_ogr2ogr_reads_every_feature_across_pages(app, live_server, stored, tmp_path, collection):
    seen = []
    app.before_request(lambda: seen.append(request.full_path))
    features = ogr2ogr(live_server, tmp_path / f"{collection}.geojson", collection)
    if collection in ("wards", "gaps"):
        got = sorted(f["properties"]["ward_code"] for f in features)
        assert got == ["E05000001", "E05000002", "E05000003"]
        assert {f["geometry"]["type"] for f in features} == {"MultiPolygon"}
    else:
        got = sorted(f["properties"]["name"] for f in features)
        assert got == sorted(stored[collection])
        assert {f["geometry"]["type"] for f in features} == {"Point"}
    pages = [p for p in seen if p.startswith(f"/ogc/collections/{collection}/items?")]
    assert any("after=" in p for p in pages), seen


def test_ogr2ogr_passes_a_spatial_filter_as_bbox(live_server, stored, tmp_path):
    west = ["-spat", "-2.1", "53.4", "-2.01", "53.5"]
    features = ogr2ogr(live_server, tmp_path / "west.geojson", "groups", *west)
    names = sorted(f["properties"]["name"] for f in features)
    assert names == ["Group 0", "Group 1", "Group 2", "Group 3"]


def test_the_items_link_is_a_plain_path_so_ogrinfo_fetches_one_feature(
    app, client, live_server, stored
):
    seen = []
    app.before_request(lambda: seen.append(request.path))
    links = client.get("/ogc/collections/groups?f=json").get_json()["links"]
    items = next(x for x in links if x["rel"] == "items" and x["type"] == "application/geo+json")
    assert items["href"].endswith("/ogc/collections/groups/items")
    group_id = client.get("/ogc/collections/groups/items?limit=1").get_json()["features"][0]["id"]
    for collection, fid, field in [("groups", group_id, "name"), ("wards", 1, "ward_code")]:
        listing = gdal("ogrinfo", "-ro", "-fid", str(fid), f"OAPIF:{live_server}/ogc", collection)
        assert f"OGRFeature({collection}):{fid}" in listing, listing
        assert f"{field} (String) =" in listing, listing
    assert f"/ogc/collections/groups/items/{group_id}" in seen
