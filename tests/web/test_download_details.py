"""Details of the gap analysis's downloads: list properties GDAL reads as one type, the
method's documentation as an absolute address of a page the app serves."""

import json
import subprocess

import pytest

from mapper.core import analysis, snapshots
from tests.factories import make_group, run_cli, two_wards

EAST, WEST = (-1.95, 53.45), (-2.05, 53.45)  # E05000001 sorts first


def ogr_types(path, *options):
    """Return {field: type} as GDAL's ogrinfo reads the file."""
    result = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", *options, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "ERROR" not in result.stderr, result.stderr
    lines = [line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line]
    return {name: kind.split(" (")[0] for name, kind in lines}


@pytest.mark.parametrize(
    ("east", "west"),
    [
        pytest.param(list(analysis.CORE_CATEGORIES), ["food-support"], id="nothing-missing-first"),
        pytest.param([], ["food-support"], id="nothing-present-first"),
    ],
)
@pytest.mark.parametrize("crs", ["", "?crs=EPSG:27700"], ids=["lonlat", "bng"])
def test_gdal_reads_both_category_lists_as_string_lists(client, session, tmp_path, east, west, crs):
    two_wards(session)
    if east:
        make_group(session, "Everything Club", EAST, categories=east)
    make_group(session, "Food Share", WEST, categories=west)
    response = client.get(f"/gaps.geojson{crs}")
    assert response.status_code == 200
    data = json.loads(response.get_data())
    first = data["features"][0]["properties"]
    # The ward listed first has both lists filled; every ward is still there, once.
    assert first["ward_code"] == "E05000002"
    assert first["categories_present"] and first["categories_missing"]
    assert sorted(f["id"] for f in data["features"]) == ["E05000001", "E05000002"]
    path = tmp_path / "gaps.geojson"
    path.write_bytes(response.get_data())
    types = ogr_types(path)
    assert types["categories_present"] == types["categories_missing"] == "StringList"


def test_a_first_ward_already_typed_keeps_ward_code_order(client, session):
    two_wards(session)
    make_group(session, "Food Share", EAST, categories=["food-support"])
    data = json.loads(client.get("/gaps.geojson").get_data())
    assert [f["id"] for f in data["features"]] == ["E05000001", "E05000002"]


def test_all_null_columns_are_typeless_in_geojson_but_typed_in_the_geopackage(
    client, session, tmp_path
):
    # No IMD is loaded: every imd_rank is null. GeoJSON declares no types, so GDAL can only
    # guess (String); the GeoPackage carries the declared type (docs/gap-analysis.md).
    two_wards(session)
    for extension in ("geojson", "gpkg"):
        path = tmp_path / f"gaps.{extension}"
        path.write_bytes(client.get(f"/gaps.{extension}").get_data())
        types = ogr_types(path)
        assert types["imd_rank"] == ("String" if extension == "geojson" else "Real")


@pytest.mark.parametrize(
    ("url", "page"),
    [
        ("/gaps.geojson", "/method"),
        ("/gaps.geojson?crs=EPSG:27700", "/method"),
    ],
)
def test_the_documentation_is_the_absolute_address_of_a_method_page(client, session, url, page):
    two_wards(session)
    metadata = json.loads(client.get(url).get_data())["metadata"]
    assert metadata["documentation"] == f"http://localhost{page}"
    answer = client.get(metadata["documentation"].removeprefix("http://localhost"))
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    assert "The gap analysis — method" in answer.get_data(as_text=True)


def test_snapshot_and_change_downloads_name_their_method_pages(client, session):
    two_wards(session)
    snapshot = snapshots.take_snapshot(session, "Spring", ["E08000099"])
    metadata = json.loads(client.get(f"/snapshots/{snapshot.id}.geojson").get_data())["metadata"]
    assert metadata["documentation"] == "http://localhost/method"
    url = f"/changes.geojson?la=E08000099&from_snapshot={snapshot.id}"
    metadata = json.loads(client.get(url).get_data())["metadata"]
    assert metadata["documentation"] == "http://localhost/method/changes"
    assert client.get("/method/changes").status_code == 200
    page = client.get(f"/snapshots/{snapshot.id}").get_data(as_text=True)
    assert '<a href="/method">its method</a>' in page


def test_method_pages_link_one_another_and_carry_no_inline_style(client):
    html = client.get("/method").get_data(as_text=True)
    assert '<a href="/method/changes">changes.md</a>' in html
    assert "<table>" in html and "<th>" in html
    assert "style=" not in html and "<script>" not in html
    assert client.get("/method/whats-changed").status_code == 200
    assert client.get("/method/architecture").status_code == 404
    assert client.get("/method").headers["Cache-Control"] == "public, no-cache"


def test_the_cli_names_the_method_page_at_base_url(app, session, tmp_path):
    two_wards(session)
    app.config["BASE_URL"] = "https://mapper.example.org"
    out = tmp_path / "gaps.geojson"
    run_cli(app, "gaps", "-o", str(out))
    metadata = json.loads(out.read_text())["metadata"]
    assert metadata["documentation"] == "https://mapper.example.org/method"


def test_the_readers_ogr_schema_is_what_types_an_all_null_column(client, session, tmp_path):
    # docs/gap-analysis.md's way, with GDAL >= 3.11 (pyogrio's): the reader brings the schema.
    pyogrio = pytest.importorskip("pyogrio")
    two_wards(session)
    path = tmp_path / "gaps.geojson"
    path.write_bytes(client.get("/gaps.geojson").get_data())
    schema = {"layers": [{"name": "*", "fields": [{"name": "imd_rank", "type": "Real"}]}]}

    def imd_rank_type(**options):
        info = pyogrio.read_info(path, **options)
        return dict(zip(info["fields"], info["dtypes"], strict=True))["imd_rank"]

    assert imd_rank_type() == "object"
    assert imd_rank_type(OGR_SCHEMA=json.dumps(schema)) == "float64"
