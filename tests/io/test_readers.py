"""Reading real and broken files into validated rows (no database involved)."""

from collections import Counter
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from mapper.errors import Invalid
from mapper.io import areas, columns, located
from mapper.store.models import CommunityGroup, Coordinator, Service
from tests.realdata import (
    GM_POLLING_STATIONS,
    IMD_BY_LSOA,
    LANCASHIRE_DISTRICTS,
    LANCASHIRE_WARDS,
    LONDON_WARDS,
    MANCHESTER_WARDS,
    TRAFFORD_LISTED_BUILDINGS,
    TRAFFORD_LSOAS,
    TRAFFORD_POPULATION,
    TRAFFORD_POSTCODES,
    TRAFFORD_WARDS_2023,
)

DATA = Path(__file__).resolve().parents[1] / "data"
VOCABULARY = {
    "employment-skills": "employment-skills",
    "social and befriending": "social-befriending",
    "advice and money": "advice-money",
    "health": "health",
    "food-support": "food-support",
}
DISTRICT_WARDS = {
    "Lancaster": 27,
    "Ribble Valley": 26,
    "West Lancashire": 25,
    "Wyre": 24,
    "South Ribble": 23,
    "Blackpool": 21,
    "Fylde": 21,
    "Blackburn with Darwen": 17,
    "Hyndburn": 16,
    "Preston": 16,
    "Burnley": 15,
    "Rossendale": 14,
    "Chorley": 14,
    "Pendle": 12,
}


def reasons(reading):
    return {r.where: r.reason for r in reading.rejections()}


def known_postcodes(postcodes):
    return {p: (-2.34673, 53.3906) for p in postcodes if p == "ZX1 1AB"}


@pytest.fixture(scope="module")
def london(geodata):
    return areas.read_wards(geodata / LONDON_WARDS, vintage="2014")


@pytest.mark.parametrize(
    ("path", "columns"),
    [
        (TRAFFORD_WARDS_2023, "code=area_code (by name), "),
        (LANCASHIRE_WARDS, "code=ward_code (by name), name=ward_name"),
        (
            MANCHESTER_WARDS,
            "la_code=local_authority_area_code (by name), "
            "la_name=local_authority_area_name (by name)",
        ),
        (
            LONDON_WARDS,
            "code=GSS_CODE (by name), name=NAME (by name), la_code=LB_GSS_CD (by name), "
            "la_name=BOROUGH (by name)",
        ),
    ],
)
def test_ward_columns_of_real_files_are_detected_and_said(geodata, path, columns):
    reading = areas.read_wards(geodata / path, vintage="2024")
    assert any(columns in note for note in reading.notes), reading.notes
    assert reading.rejected == [] and len(reading.rows) > 0


def test_london_prj_without_epsg_code_is_read_as_british_national_grid(london):
    assert "CRS: EPSG:27700, recognised from a definition with no EPSG code" in london.notes
    assert len(london.rows) == 654 and london.rejected == []
    lonlat = gpd.GeoSeries([row.values["geometry"] for row in london.rows], crs=4326)
    min_lon, min_lat, max_lon, max_lat = lonlat.total_bounds
    assert -0.52 < min_lon < max_lon < 0.34 and 51.28 < min_lat < max_lat < 51.70
    assert len({row.values["la_code"] for row in london.rows}) == 33


def test_london_two_invalid_polygons_are_repaired_and_named(london):
    repaired = [note for note in london.notes if "repaired" in note]
    assert len(repaired) == 2
    assert "E05009392 Colville" in repaired[0] and "E05009400 Pembridge" in repaired[1]
    geoms = [row.values["geometry"] for row in london.rows]
    assert all(g.geom_type == "MultiPolygon" for g in geoms)
    assert shapely.is_valid(geoms).all()


def test_trafford_clockwise_polygons_become_valid_multipolygons(geodata):
    path = geodata / TRAFFORD_WARDS_2023
    reading = areas.read_wards(path, vintage="2023", la_code="E08000009", la_name="Trafford")
    assert len(reading.rows) == 21
    assert {row.values["la_code"] for row in reading.rows} == {"E08000009"}
    assert all(row.values["geometry"].geom_type == "MultiPolygon" for row in reading.rows)


def test_lancashire_wards_get_their_district_from_the_district_polygons(geodata):
    reading = areas.read_wards(
        geodata / LANCASHIRE_WARDS,
        vintage="2022",
        la_boundaries=geodata / LANCASHIRE_DISTRICTS,
    )
    assert "CRS: EPSG:27700" in reading.notes
    assert any("code=objectid (by its values)" in note for note in reading.notes)
    assert Counter(row.values["la_name"] for row in reading.rows) == DISTRICT_WARDS
    preston = {row.values["la_code"] for row in reading.rows if row.values["la_name"] == "Preston"}
    assert preston == {"E07000123"}


def test_la_code_keeps_only_that_authoritys_wards_when_the_file_has_them(geodata):
    reading = areas.read_wards(geodata / LONDON_WARDS, vintage="2014", la_code="E09000028")
    assert len(reading.rows) == 21
    assert "kept the 21 wards of E09000028; skipped 633 of other local authorities" in (
        reading.notes
    )


def test_latest_ons_year_columns_win_and_give_the_vintage():
    reading = areas.read_wards(DATA / "wards_wd_columns.geojson")
    assert [row.values["code"] for row in reading.rows] == ["E05900021", "E05900023"]
    assert {row.values["vintage"] for row in reading.rows} == {"2023"}
    assert {row.values["la_name"] for row in reading.rows} == {"Testshire"}


def test_code_and_name_columns_are_recognised_by_their_values():
    reading = areas.read_wards(DATA / "wards_odd_columns.geojson", vintage="2024")
    assert (
        "columns: code=ref (by its values), la_code=council (by its values), "
        "name=label (by its values)" in reading.notes
    )
    assert [row.values["name"] for row in reading.rows] == ["Odd Ward", "Odder Ward"]


def test_a_vintage_is_required_when_the_columns_do_not_say_it(geodata):
    with pytest.raises(Invalid, match="--vintage"):
        areas.read_wards(geodata / TRAFFORD_WARDS_2023)


def test_a_file_gdal_cannot_read_is_refused_with_a_message(tmp_path):
    path = tmp_path / "wards.geojson"
    path.write_text("this is not GeoJSON")
    with pytest.raises(Invalid, match="cannot read it"):
        areas.read_wards(path, vintage="2024")


def test_a_shapefile_with_no_prj_in_metres_is_taken_as_british_national_grid(tmp_path):
    square = shapely.box(377000, 388000, 377500, 388500)
    frame = gpd.GeoDataFrame({"WD24CD": ["E05900050"], "WD24NM": ["Grid Ward"]}, geometry=[square])
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        frame.to_file(tmp_path / "wards.shp")  # no .prj
    reading = areas.read_wards(tmp_path / "wards.shp")
    assert "CRS: none stated; the coordinates look like EPSG:27700" in reading.notes
    (row,) = reading.rows
    assert row.values["geometry"].contains(shapely.Point(-2.345, 53.39))


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("feature 2", "missing name"),
        ("feature 3", "code 'X123' is not an ONS GSS code"),
        ("feature 4", "geometry is a Point, not a polygon"),
        ("feature 5", "no geometry"),
        ("feature 6", "code E05900001 appears again (first at feature 1)"),
    ],
)
def test_broken_ward_features_are_rejected_with_their_reason(where, reason):
    reading = areas.read_wards(DATA / "wards_broken.geojson", vintage="2024")
    assert reason in reasons(reading)[where]


def test_a_self_intersecting_ward_is_repaired_not_rejected():
    reading = areas.read_wards(DATA / "wards_broken.geojson", vintage="2024")
    assert [row.values["code"] for row in reading.rows] == ["E05900001", "E05900007"]
    assert any(
        "feature 7 (E05900007 Bow Tie): repaired (Self-intersection" in n for n in (reading.notes)
    )


def test_ward_in_metres_under_a_lonlat_crs_is_rejected_as_the_wrong_crs():
    reading = areas.read_wards(DATA / "wards_bng_as_crs84.geojson", vintage="2024")
    assert "look like British National Grid metres" in reasons(reading)["feature 1"]


def test_population_takes_the_persons_rows_of_the_nomis_layout(geodata):
    reading = areas.read_population(geodata / TRAFFORD_POPULATION)
    assert len(reading.rows) == 21 and reading.rejected == []
    assert sum(row.values["population"] for row in reading.rows) == 241_025
    assert any("took the 21 rows for all persons of 63" in note for note in reading.notes)


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("row 3", "unparseable population 'n/a'"),
        ("row 4", "code 'X0501524' is not an ONS GSS code"),
        ("row 6", "code E05015239 appears again (first at row 2)"),
        ("row 7", "population '-5' is not a whole number"),
    ],
)
def test_broken_population_rows_are_rejected_with_their_reason(where, reason):
    reading = areas.read_population(DATA / "population_broken.csv")
    assert reason in reasons(reading)[where]
    assert reading.rows[0].values == {"code": "E05015239", "population": 11278}


def test_imd_by_lsoa_gives_each_lsoa_a_point_from_its_polygon(geodata):
    reading = areas.read_imd(
        geodata / IMD_BY_LSOA,
        lsoa_boundaries=geodata / TRAFFORD_LSOAS,
    )
    assert len(reading.rows) == 138
    manchester = [
        r
        for r in reading.rejected
        if r.reason.endswith("has no polygon in " + str(geodata / TRAFFORD_LSOAS))
    ]
    assert len(manchester) == len(reading.rejected) == 282
    assert any("decile=Index of Multiple Deprivation (IMD) Decile" in n for n in reading.notes)
    assert sum("repaired" in note for note in reading.notes) == 2  # the two invalid LSOAs
    row = next(r.values for r in reading.rows if r.values["lsoa_code"] == "E01006195")
    assert row["rank"] > 0 and 1 <= row["decile"] <= 10


def test_imd_by_lsoa_needs_the_lsoa_boundaries(geodata):
    with pytest.raises(Invalid, match="--lsoa-boundaries"):
        areas.read_imd(geodata / IMD_BY_LSOA)


def test_imd_by_ward_is_read_directly_and_a_decile_out_of_range_is_rejected():
    reading = areas.read_imd(DATA / "imd_wards.csv")
    assert reading.rows[0].values == {"code": "E05015239", "imd_decile": 9, "imd_score": 8.5}
    assert reasons(reading) == {"row 4": "decile '11' is not between 1 and 10"}


def test_postcodes_of_the_ons_directory_extract_are_all_read(geodata):
    reading = areas.read_postcodes(geodata / TRAFFORD_POSTCODES)
    assert len(reading.rows) == 11_264 and reading.rejected == []
    first = {"postcode": "M15 4AB", "lon": -2.26046, "lat": 53.465578, "residents": None}
    assert reading.rows[0].values == first  # the ONS extract has no population column


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("row 4", "coordinates (0, 100) are outside the range of longitude/latitude"),
        ("row 5", "'ZX11' is not a UK postcode"),
        ("row 6", "multi-valued lat '53.41347, 53.41348'"),
    ],
)
def test_broken_postcode_rows_are_rejected_with_their_reason(where, reason):
    reading = areas.read_postcodes(DATA / "postcodes_small.csv")
    assert reasons(reading)[where] == reason
    assert [row.values["postcode"] for row in reading.rows] == ["ZX1 1AB", "ZX1 1AD"]


def test_listed_buildings_in_metres_are_read_and_four_multi_valued_rows_rejected(geodata):
    reading = located.read_located(geodata / TRAFFORD_LISTED_BUILDINGS, CommunityGroup)
    assert len(reading.rows) == 261
    assert sorted(reasons(reading)) == ["row 237", "row 238", "row 239", "row 240"]
    assert all(
        r.reason.startswith("multi-valued Easting '376909.953, 376909.953")
        and r.reason.endswith("(Gatepiers And Walls To Timperley Lodge)")
        for r in reading.rejected
    )
    first = reading.rows[0].values
    assert first["name"] == "Buckhall, The Four Seasons Hotel"
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(
        380230.266901016, 385291.217550278
    )
    assert first["geom"].x == pytest.approx(lon, abs=1e-9)
    assert first["geom"].y == pytest.approx(lat, abs=1e-9)


def test_polling_stations_keep_their_id_and_venue_columns(geodata):
    reading = located.read_located(
        geodata / GM_POLLING_STATIONS,
        CommunityGroup,
        categories=["volunteering"],
    )
    assert len(reading.rows) == 700 and reading.rejected == []
    first = reading.rows[0].values
    assert first["external_id"] == "4386" and first["address"] == "David Street, Bury"
    assert first["categories"] == ["volunteering"] and "status" not in first


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("row 3", "missing name"),
        ("row 4", "unparseable lon 'west' (Bowdon Bowls Club)"),
        ("row 5", "multi-valued lon '-2.35279, -2.35279' (Broadheath Allotments)"),
        ("row 6", "coordinates (53.4135, -2.32092) look swapped"),
        ("row 7", "coordinates (377038, 388252) look like British National Grid metres"),
        ("row 8", "unknown category 'knitting' (Davyhulme Knitters)"),
        ("row 9", "unknown postcode 'ZX9 9ZZ' (Flixton Food Club)"),
        ("row 11", "unknown status 'approved'"),
        ("row 12", "last_verified 'last spring' is not a date"),
        ("row 13", "no location"),
    ],
)
def test_broken_group_rows_are_rejected_with_their_reason(where, reason):
    reading = located.read_located(
        DATA / "groups_broken.csv",
        CommunityGroup,
        vocabulary=VOCABULARY,
        find_postcodes=known_postcodes,
    )
    assert reason in reasons(reading)[where]


def test_group_rows_are_located_by_lonlat_or_postcode_and_keep_their_values():
    reading = located.read_located(
        DATA / "groups_broken.csv",
        CommunityGroup,
        vocabulary=VOCABULARY,
        find_postcodes=known_postcodes,
    )
    by_id = {row.values["external_id"]: row.values for row in reading.rows}
    assert sorted(by_id) == ["T-1", "T-13", "T-9"]  # T-9 is for the registry: no ward there
    assert by_id["T-13"]["geom"].equals(shapely.Point(-2.34673, 53.3906))
    assert by_id["T-13"]["postcode"] == "ZX1 1AB" and by_id["T-13"]["status"] == "closed"
    assert by_id["T-13"]["categories"] == ["social-befriending"]  # found by display name
    assert str(by_id["T-1"]["last_verified"]) == "2024-05-01"


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("row 3", "look like longitude/latitude degrees, not British National Grid metres"),
        ("row 4", "coordinates (806000, 394000) look swapped"),
        ("row 5", "multi-valued easting '377038.1; 377038.2'"),
    ],
)
def test_broken_easting_northing_rows_are_rejected_with_their_reason(where, reason):
    reading = located.read_located(DATA / "groups_bng.csv", CommunityGroup)
    assert reason in reasons(reading)[where]
    assert [row.values["external_id"] for row in reading.rows] == ["B-1"]


def test_crs_option_reads_other_coordinates(tmp_path):
    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(-2.34673, 53.3906)
    path = tmp_path / "groups.csv"
    path.write_text(f"name,x,y\nMercator Club,{x},{y}\n")  # Web Mercator metres
    reading = located.read_located(path, CommunityGroup, crs="EPSG:3857")
    point = reading.rows[0].values["geom"]
    assert point.x == pytest.approx(-2.34673, abs=1e-7)
    assert point.y == pytest.approx(53.3906, abs=1e-7)


def test_fields_option_maps_unusual_column_names(tmp_path):
    path = tmp_path / "groups.csv"
    path.write_text("Group,Where (postcode),Longitude °,Latitude °\nKnit Club,,-2.34673,53.3906\n")
    fields = columns.parse_fields(
        ["name=Group", "lon=Longitude °", "lat=Latitude °", "postcode=Where (postcode)"],
        {"name", "lon", "lat", "postcode"},
    )
    reading = located.read_located(path, CommunityGroup, fields=fields)
    assert reading.rows[0].values["name"] == "Knit Club"
    with pytest.raises(Invalid, match="there is no column 'Nom'"):
        located.read_located(path, CommunityGroup, fields={"name": "Nom"})
    with pytest.raises(Invalid, match="TARGET=COLUMN"):
        columns.parse_fields(["colour=Group"], {"name"})


def test_coordinators_are_located_by_lonlat_or_postcode_and_capacity_checked():
    reading = located.read_located(
        DATA / "coordinators.csv", Coordinator, find_postcodes=known_postcodes
    )
    assert [row.values["name"] for row in reading.rows] == ["Asha Coordinator", "Ben Coordinator"]
    assert all("postcode" not in row.values for row in reading.rows)
    assert reading.rows[1].values["base"].equals(shapely.Point(-2.34673, 53.3906))
    assert "capacity '-4' is not a whole number" in reasons(reading)["row 4"]


def test_services_take_categories_by_display_name_and_status_from_the_file():
    reading = located.read_located(DATA / "services.csv", Service, vocabulary=VOCABULARY)
    first, second = (row.values for row in reading.rows)
    assert first["categories"] == ["advice-money", "health"] and "status" not in first
    assert second["status"] == "inactive"
    assert reasons(reading) == {"row 4": "unknown category 'Advice' (Pop-up Advice)"}


def test_demo_is_read_through_the_same_importers():
    data = located.read_demo()
    assert len(data["wards"]) == 20 and len(data["groups"]) >= 300
    assert data["wards"]["population"].notna().all()
    assert all(c["patch"].geom_type == "MultiPolygon" for c in data["coordinators"])


def test_a_file_of_several_layers_needs_layer_and_reads_the_one_named(tmp_path):
    path = tmp_path / "wards.gpkg"
    for layer, code in (("old", "E05900060"), ("new", "E05900061")):
        frame = gpd.GeoDataFrame(
            {"WD24CD": [code], "WD24NM": [f"{layer} ward"]},
            geometry=[shapely.box(-2.3, 53.4, -2.2, 53.5)],
            crs=4326,
        )
        frame.to_file(path, layer=layer)
    with pytest.raises(Invalid, match=r"several layers \(old, new\): choose one with --layer"):
        areas.read_wards(path)
    reading = areas.read_wards(path, layer="new")
    assert [row.values["code"] for row in reading.rows] == ["E05900061"]


AWKWARD_CELLS = [
    "",
    "  ",
    "Plain",
    " padded ",
    "tab\there",
    "Café",
    "\u200b",
    "a" * 300,
    "https://example.org",
    "example.org",
    "2024-05-01",
    "2024-5-1",
    "last spring",
    "health; food-support",
    "health | | advice and money",
    "GB-CHC-1234567",
    "12",
    "closed",
]


@pytest.mark.parametrize("model", [CommunityGroup, Service, Coordinator])
def test_rows_read_a_column_at_a_time_equal_rows_read_one_by_one(tmp_path, model):
    """The column-wise reading of plain cells (`plain_values`) gives each row exactly what
    `located_values` gives it, and leaves every cell it cannot vouch for to it."""
    targets = [t for t in located.LOCATED_FIELDS[model] if t != "postcode"]
    plain_row = dict.fromkeys(targets, "") | {"name": "Group", "lon": "-2.3", "lat": "53.4"}
    rows = [plain_row | {t: cell} for t in targets for cell in AWKWARD_CELLS]
    path = tmp_path / "awkward.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    frame = located.read_any(path)
    chosen = {t: t for t in targets}
    plain = located.plain_values(frame, model, chosen)
    assert 0 < sum(v is not None for v in plain) < len(plain)  # both paths are taken
    for record, values in zip(located.records(frame), plain, strict=True):
        one_by_one, _ = located.located_values(record, model, chosen, ["health"], VOCABULARY)
        if values is not None:
            assert located.finished_values(values, model, ["health"], VOCABULARY)[0] == one_by_one
