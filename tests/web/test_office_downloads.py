"""The downloads officers open in QGIS and spreadsheets: GeoPackage, zipped Shapefile, XLSX,
and every geographic download in British National Grid, read back by GDAL and openpyxl."""

import csv
import io
import json
import subprocess
import zipfile

import geopandas as gpd
import pyogrio
import pytest
from openpyxl import load_workbook
from shapely.geometry import box

from mapper.core import analysis, snapshots
from tests.factories import load_manchester, make_group, make_wards, two_wards
from tests.web.test_gaps_downloads import run_mapper


def fetched(client, url, tmp_path, name):
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    path = tmp_path / name
    path.write_bytes(response.get_data())
    return response, path


def ogrinfo(path):
    result = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", str(path)], capture_output=True, text=True, check=True
    )
    assert "ERROR" not in result.stderr and "Warning" not in result.stderr, result.stderr
    return result.stdout


@pytest.fixture
def manchester(session, geodata):
    return load_manchester(session, geodata)


@pytest.mark.parametrize(
    ("extension", "crs", "srs"),
    [
        ("gpkg", "", "WGS 84"),
        ("gpkg", "EPSG:27700", "OSGB36 / British National Grid"),
        ("shp.zip", "", "WGS 84"),
        ("shp.zip", "EPSG:27700", "OSGB36 / British National Grid"),
        ("geojson", "EPSG:27700", "OSGB36 / British National Grid"),
    ],
)
def test_gdal_reads_each_format_in_its_crs_with_numbers_typed(
    client, manchester, tmp_path, extension, crs, srs
):
    url = f"/gaps.{extension}?la=E08000003" + (f"&crs={crs}" if crs else "")
    response, path = fetched(client, url, tmp_path, f"gaps.{extension}")
    disposition = response.headers["Content-Disposition"]
    assert disposition.endswith(f'{"_epsg27700" if crs else ""}.{extension}"')
    target = f"/vsizip/{path}" if extension == "shp.zip" else path
    info = ogrinfo(target)
    assert "Feature Count: 32" in info and srs in info
    if extension == "geojson":
        return  # GeoJSON declares no types: GDAL guesses them from the values
    # Names a Shapefile keeps (10 characters); the zip's fields.csv gives the full ones.
    short = extension == "shp.zip"
    for field in (
        "population: Integer",
        "groups: Integer",
        ("groups_per: Real" if short else "groups_per_1k: Real"),
        ("services_p: Real" if short else "services_per_1k: Real"),
        "imd_rank: Real",  # no IMD is loaded: every row empty, still a number
        ("categories: String" if short else "categories_present: String"),
    ):
        assert field in info
    frame = gpd.read_file(target)
    counts = manchester["ward_code"].value_counts()
    assert {code: counts.get(code, 0) for code in frame["ward_code"]} == dict(
        zip(frame["ward_code"], frame["groups"], strict=True)
    )


def test_british_national_grid_lands_where_lon_lat_does_to_the_centimetre(
    client, manchester, tmp_path
):
    _, lonlat = fetched(client, "/gaps.gpkg?la=E08000003", tmp_path, "lonlat.gpkg")
    _, bng = fetched(client, "/gaps.gpkg?la=E08000003&crs=EPSG:27700", tmp_path, "bng.gpkg")
    _, text = fetched(client, "/gaps.geojson?la=E08000003&crs=EPSG:27700", tmp_path, "b.geojson")
    expected = gpd.read_file(lonlat).to_crs(27700).set_index("ward_code").geometry
    for path, tolerance in ((bng, 0.001), (text, 0.01)):
        found = gpd.read_file(path).set_index("ward_code").geometry
        assert found.crs.to_epsg() == 27700
        # The GeoJSON's rings run counter-clockwise (RFC 7946): compare vertices, not order.
        assert found.sort_index().hausdorff_distance(expected.sort_index()).max() <= tolerance
        # Eastings and northings of Manchester, in metres.
        minx, miny, maxx, maxy = found.total_bounds
        assert 370_000 < minx < maxx < 400_000 and 380_000 < miny < maxy < 410_000
    data = json.loads(text.read_text())
    assert data["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::27700"


def test_each_file_carries_the_method_date_and_attribution(client, manchester, tmp_path):
    _, gpkg = fetched(client, "/gaps.gpkg?la=E08000003", tmp_path, "gaps.gpkg")
    metadata = pyogrio.read_info(gpkg)["layer_metadata"]
    assert metadata["method_version"] == analysis.METHOD_VERSION
    assert json.loads(metadata["parameters"])["la"] == ["E08000003"]
    assert "Office for National Statistics" in metadata["attribution"]
    assert metadata["attribution"].endswith("2023")

    _, shp = fetched(client, "/gaps.shp.zip?la=E08000003", tmp_path, "gaps.shp.zip")
    with zipfile.ZipFile(shp) as archive:
        names = set(archive.namelist())
        about = archive.read("about.txt").decode("utf-8")
        fields = list(csv.DictReader(io.StringIO(archive.read("fields.csv").decode("utf-8"))))
    assert {"community_gaps.shp", "community_gaps.prj", "community_gaps.cpg"} <= names
    assert f"method_version: {analysis.METHOD_VERSION}" in about and "generated_at: " in about
    assert [f["name"] for f in fields] == list(analysis.PROPERTIES)
    assert {"shapefile_field": "groups_per", "name": "groups_per_1k"} in fields


def test_xlsx_has_the_rows_of_the_csv_and_an_about_sheet_and_runs_no_formula(
    client, session, tmp_path
):
    make_wards(
        session,
        {
            "W05000001": ("Ynys Môn", box(-4.4, 53.2, -4.3, 53.3)),
            "W05000002": ('=HYPERLINK("http://evil.example")', box(-4.3, 53.2, -4.2, 53.3)),
        },
        la_code="W06000001",
        la_name="@Anglesey",
    )
    make_group(session, "Club", (-4.35, 53.25), categories=["older-people", "food-support"])
    make_group(session, "Lunch", (-4.36, 53.25), categories=["older-people"])
    _, path = fetched(client, "/gaps.xlsx?la=W06000001", tmp_path, "gaps.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["Gap analysis", "About"]
    rows = list(book["Gap analysis"].iter_rows(values_only=True))
    assert list(rows[0]) == list(analysis.PROPERTIES)
    text_rows = list(csv.DictReader(io.StringIO(client.get("/gaps.csv?la=W06000001").text)))
    assert [r[0] for r in rows[1:]] == [r["ward_code"] for r in text_rows]
    first, second = (dict(zip(rows[0], row, strict=True)) for row in rows[1:])
    assert first["ward_name"] == "Ynys Môn" and first["groups"] == 2
    assert first["categories_present"] == "food-support; older-people"
    assert first["population"] is None and isinstance(first["area_km2"], float)
    assert second["ward_name"] == '=HYPERLINK("http://evil.example")'  # as text, not run
    assert second["la_name"] == "@Anglesey"
    about = dict(book["About"].iter_rows(min_row=2, values_only=True))
    assert about["method_version"] == analysis.METHOD_VERSION and about["generated_at"]
    assert "W06000001" in about["parameters"]
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            assert all(cell.data_type != "f" for cell in row)


def test_a_snapshot_and_a_change_download_as_geopackage_in_bng(client, session, tmp_path):
    two_wards(session)
    make_group(session, "Food Share", (-1.95, 53.45), categories=["food-support"])
    snapshot = snapshots.take_snapshot(session, "Spring review", ["E08000099"])
    url = f"/snapshots/{snapshot.id}.gpkg?crs=EPSG:27700"
    _, path = fetched(client, url, tmp_path, "snapshot.gpkg")
    assert "Feature Count: 2" in ogrinfo(path) and "British National Grid" in ogrinfo(path)
    url = f"/changes.xlsx?la=E08000099&from_snapshot={snapshot.id}"
    _, path = fetched(client, url, tmp_path, "change.xlsx")
    assert len(list(load_workbook(path)["Gap analysis"].iter_rows())) == 3


@pytest.mark.parametrize("crs", ["EPSG:3857", "27700", ""])
def test_an_unknown_crs_is_a_400_naming_it(client, session, crs):
    two_wards(session)
    response = client.get(f"/gaps.gpkg?crs={crs}", headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert "crs" in response.get_json()["error"]["fields"]


def test_the_home_page_offers_every_format(client, session):
    two_wards(session)
    page = client.get("/?la=E08000099").get_data(as_text=True)
    for href in ("/gaps.gpkg?la=E08000099", "/gaps.shp.zip?la=E08000099", "/gaps.xlsx?la="):
        assert href in page
    assert "/gaps.gpkg?crs=EPSG:27700&amp;la=E08000099" in page


def test_mapper_gaps_writes_a_geopackage_in_bng(session, database_url, tmp_path):
    two_wards(session)
    out = tmp_path / "gaps.gpkg"
    result = run_mapper(database_url, "--format", "gpkg", "--crs", "EPSG:27700", "-o", str(out))
    assert result.returncode == 0, result.stderr
    info = ogrinfo(out)
    assert "Feature Count: 2" in info and "British National Grid" in info
