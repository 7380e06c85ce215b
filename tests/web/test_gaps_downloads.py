"""The gap analysis's faces: GET /gaps.geojson, GET /gaps.csv and `mapper gaps`."""

import csv
import io
import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import shapely
from shapely.geometry import MultiPolygon, box

from mapper.core import analysis, records
from mapper.store.models import Coordinator, Postcode
from tests.factories import load_manchester, make_group, make_wards, run_cli, two_wards

MAPPER = str(Path(sys.executable).parent / "mapper")
JSON = {"Accept": "application/json"}


def geojson(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response, json.loads(response.get_data(as_text=True))


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def rings(geometry):
    polygons = geometry["coordinates"]
    return [(ring, i == 0) for polygon in polygons for i, ring in enumerate(polygon)]


def test_manchester_geojson_is_rfc7946_with_metadata(client, session, geodata):
    stations = load_manchester(session, geodata)
    response, data = geojson(client, "/gaps.geojson?la=E08000003")
    assert response.content_type == "application/geo+json"
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(
        r'attachment; filename="community-gaps_E08000003_\d{4}-\d{2}-\d{2}\.geojson"',
        disposition,
    )
    assert data["type"] == "FeatureCollection" and "crs" not in data
    assert len(data["features"]) == 32
    expected = stations["ward_code"].value_counts()
    for feature in data["features"]:
        properties = feature["properties"]
        assert list(properties) == list(analysis.PROPERTIES)
        assert feature["id"] == properties["ward_code"]
        assert properties["groups"] == expected.get(properties["ward_code"], 0)
        assert feature["geometry"]["type"] == "MultiPolygon"
        # The source rings are clockwise; RFC 7946 wants exteriors counter-clockwise.
        for ring, exterior in rings(feature["geometry"]):
            assert shapely.LinearRing(ring).is_ccw == exterior
            for lon, lat in ring:
                assert -2.4 < lon < -2.1 and 53.3 < lat < 53.6
    geometry_text = json.dumps([f["geometry"] for f in data["features"]])
    assert not re.search(r"\d\.\d{7,}", geometry_text)  # at most 6 decimals
    metadata = data["metadata"]
    assert metadata["method_version"] == analysis.METHOD_VERSION
    assert metadata["parameters"]["la"] == ["E08000003"]
    assert metadata["counts"]["wards"] == 32 and metadata["counts"]["groups"] == 198
    assert metadata["boundary_vintage"] == "2023"
    assert "Office for National Statistics" in metadata["attribution"]
    assert metadata["attribution"].endswith("2023")
    assert disposition.endswith(f'{metadata["generated_at"][:10]}.geojson"')


def test_gdal_reads_the_downloaded_geojson(client, session, geodata, tmp_path):
    load_manchester(session, geodata)
    response, _ = geojson(client, "/gaps.geojson?la=E08000003")
    path = tmp_path / "gaps.geojson"
    path.write_bytes(response.get_data())
    result = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", str(path)], capture_output=True, text=True, check=True
    )
    assert "ERROR" not in result.stderr
    assert "Feature Count: 32" in result.stdout
    assert "Geometry: Multi Polygon" in result.stdout
    assert "WGS 84" in result.stdout
    for field in ("ward_code: String", "groups: Integer", "categories_missing: StringList"):
        assert field in result.stdout
    one = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-where", "ward_code = 'E05011350'", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "ward_name (String) = Ancoats & Beswick" in one


def test_csv_is_utf8_with_a_header_and_one_row_per_ward(client, session):
    make_wards(
        session,
        {
            "W05000001": ("Ynys Môn", box(-4.4, 53.2, -4.3, 53.3)),
            "W05000002": ('=HYPERLINK("http://evil.example")', box(-4.3, 53.2, -4.2, 53.3)),
        },
        la_code="W06000001",
        la_name="@Anglesey",
    )
    make_group(session, "Club", (-4.35, 53.25), categories=["faith", "food-support"])
    response = client.get("/gaps.csv?la=W06000001")
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="community-gaps_W06000001_\d{4}-\d{2}-\d{2}\.csv"',
        response.headers["Content-Disposition"],
    )
    text = response.get_data().decode("utf-8")
    assert text.splitlines()[0] == ",".join(analysis.PROPERTIES)
    rows = csv_rows(text)
    assert [r["ward_name"] for r in rows] == ["Ynys Môn", '\'=HYPERLINK("http://evil.example")']
    assert {r["la_name"] for r in rows} == {"'@Anglesey"}
    assert rows[0]["groups"] == "1" and rows[0]["categories_present"] == "food-support"
    assert rows[1]["categories_missing"] == ";".join(analysis.CORE_CATEGORIES)
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values())


def test_filters_repeat_or_comma_separate_and_change_the_counts(client, session):
    two_wards(session)
    make_wards(session, {"E05000003": ("Elsewhere", box(0, 51, 0.1, 51.1))}, la_code="E08000098")
    make_group(session, "Food", (-2.05, 53.45), categories=["food-support"])
    make_group(
        session,
        "Faith, closed in 2023",
        (-2.05, 53.46),
        status="closed",
        categories=["faith"],
        active_until=date(2023, 1, 31),
    )

    def groups(query):
        _, data = geojson(client, f"/gaps.geojson?{query}")
        return {f["properties"]["ward_code"]: f["properties"]["groups"] for f in data["features"]}

    both = {"E05000001": 0, "E05000002": 1, "E05000003": 0}
    assert groups("la=E08000099&la=E08000098") == both
    assert groups("la=E08000099,e08000098") == both
    assert groups("ward=E05000002") == {"E05000002": 1}
    assert groups("ward=E05000002&as_of=2022-06-01") == {"E05000002": 2}
    assert groups("ward=E05000002&as_of=2022-06-01&category=faith") == {"E05000002": 1}
    assert groups("ward=E05000002&category=faith,carers") == {"E05000002": 0}
    assert groups("ward=E05000002&kind=charity") == {"E05000002": 0}


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("la=Trafford", "la"),
        ("la=E08000001", "la"),  # well formed, but there is no such local authority
        ("ward=12", "ward"),
        ("ward=E05999999", "ward"),
        ("as_of=2024-13-01", "as_of"),
        ("as_of=yesterday", "as_of"),
        ("category=knitting", "category"),
        ("category=%3Cscript%3E", "category"),
        ("kind=%3Dcmd", "kind"),
        ("colour=red", "colour"),
        ("reach_m=far", "reach_m"),
        ("reach_m=10", "reach_m"),
        ("reach_m=1e9", "reach_m"),
        ("reach_m=nan", "reach_m"),
    ],
)
@pytest.mark.parametrize("extension", ["geojson", "csv"])
def test_bad_parameters_get_a_400_naming_the_parameter(
    client, session, query, parameter, extension
):
    two_wards(session)
    response = client.get(f"/gaps.{extension}?{query}", headers=JSON)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "bad_request" and parameter in error["fields"]
    assert f"'{parameter}'" in error["message"]


def test_each_documented_bound_of_the_download_is_the_bound_enforced(client, session):
    two_wards(session)
    spec = client.get("/api/openapi.json").get_json()
    bounded = 0
    for parameter in spec["paths"]["/gaps.csv"]["get"]["parameters"]:
        schema, name = parameter["schema"], parameter["name"]
        for key, step in (("minimum", -1), ("maximum", 1)):
            if key in schema:
                bounded += 1
                assert client.get(f"/gaps.csv?{name}={schema[key]}").status_code == 200
                beyond = client.get(f"/gaps.csv?{name}={schema[key] + step}", headers=JSON)
                assert beyond.status_code == 400 and name in beyond.get_json()["error"]["fields"]
        for value in schema.get("enum", []):
            assert client.get(f"/gaps.csv?{name}={value}").status_code == 200, value
    assert bounded == 2  # reach_m's


@pytest.mark.parametrize("query", ["as_of=2024-01-01&as_of=2024-02-01", "crs=EPSG:4326&crs=CRS84"])
def test_a_single_valued_parameter_given_twice_is_a_400(client, session, query):
    two_wards(session)
    response = client.get(f"/gaps.csv?{query}", headers=JSON)
    name = query.split("=")[0]
    assert response.status_code == 400 and name in response.get_json()["error"]["fields"]


def test_a_forms_blank_fields_are_no_filter(client, session):
    two_wards(session)
    everything = client.get("/gaps.csv").get_data(as_text=True)
    assert (
        client.get("/gaps.csv?la=&ward=&category=&kind=&as_of=&reach_m=").get_data(as_text=True)
        == everything
    )


def test_reach_m_sets_the_walking_distance_of_reach_in_both_downloads(client, session):
    two_wards(session)
    make_group(session, "West Club", (-2.05, 53.45), categories=["food-support"])
    session.add_all(
        [Postcode(postcode=f"M1 {i}AA", lon=-2.05 + i * 0.012, lat=53.45) for i in range(3)]
    )
    session.commit()  # postcodes 0, 0.8 and 1.6 km east of the club, all in the west ward
    _response, near = geojson(client, "/gaps.geojson?ward=E05000002")
    _response, far = geojson(client, "/gaps.geojson?ward=E05000002&reach_m=1200")
    assert near["features"][0]["properties"]["reach_food_support"] == 0.333
    assert far["features"][0]["properties"]["reach_food_support"] == 0.667
    assert far["metadata"]["parameters"]["reach_metres"] == 1200
    rows = csv_rows(client.get("/gaps.csv?ward=E05000002&reach_m=1200").get_data(as_text=True))
    assert rows[0]["reach_food_support"] == "0.667" and rows[0]["reach_core"] == "0.083"


def test_mapper_gaps_takes_the_walking_distance_of_reach(app, session):
    two_wards(session)
    make_group(session, "West Club", (-2.05, 53.45), categories=["food-support"])
    session.add_all(
        [Postcode(postcode=f"M1 {i}AA", lon=-2.05 + i * 0.012, lat=53.45) for i in range(3)]
    )
    session.commit()
    out = run_cli(app, "gaps", "--ward", "E05000002", "--reach-m", "1200", "--format", "csv")
    assert csv_rows(out)[0]["reach_food_support"] == "0.667"
    result = app.test_cli_runner().invoke(args=["gaps", "--reach-m", "far"])
    assert result.exit_code == 2 and "--reach-m" in result.output


def test_a_person_sees_the_bad_parameter_named_on_a_page(client, session):
    two_wards(session)
    response = client.get("/gaps.csv?as_of=soon", headers={"Accept": "text/html"})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "as_of" in response.get_data(as_text=True)


def test_downloads_hold_no_personal_data_and_no_unapproved_groups(client, session):
    two_wards(session)
    records.save_located(
        session,
        Coordinator,
        [
            {
                "external_id": "LAC-1",
                "name": "Priya Privatename",
                "email": "priya@council.example",
                "phone": "01632 960123",
                "patch": MultiPolygon([box(-2.1, 53.4, -2.0, 53.5)]),
            }
        ],
    )
    make_group(session, "Secret Pending Society", (-2.05, 53.45), status="pending")
    make_group(session, "Open Club", (-1.95, 53.45), contact_public="hello@club.example")
    session.commit()
    private = ("Privatename", "priya@", "01632 960123", "Secret Pending", "LAC-1")
    for url in ("/gaps.geojson", "/gaps.csv"):
        body = client.get(url).get_data(as_text=True)
        assert not any(text in body for text in private), url
    _, data = geojson(client, "/gaps.geojson")
    counts = {f["properties"]["ward_code"]: f["properties"] for f in data["features"]}
    assert counts["E05000002"]["groups"] == 0 and counts["E05000002"]["coordinator_coverage"] == 1
    assert counts["E05000001"]["groups"] == 1


def run_mapper(database_url, *args):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url}
    return subprocess.run(
        [MAPPER, "gaps", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_mapper_gaps_writes_only_data_to_stdout(session, database_url):
    two_wards(session)
    make_group(session, "Club", (-2.05, 53.45), categories=["faith"])
    result = run_mapper(database_url, "--la", "E08000099", "--format", "geojson")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # nothing but the GeoJSON
    assert [f["properties"]["groups"] for f in data["features"]] == [0, 1]
    assert data["metadata"]["parameters"]["la"] == ["E08000099"]
    result = run_mapper(database_url, "--category", "faith,carers", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = csv_rows(result.stdout)
    assert [r["categories_present"] for r in rows] == ["", "faith"]


def test_mapper_gaps_writes_a_file_and_says_so_on_stderr(session, database_url, tmp_path):
    two_wards(session)
    out = tmp_path / "gaps.csv"
    result = run_mapper(database_url, "--ward", "E05000001", "--format", "csv", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert str(out) in result.stderr
    assert [r["ward_code"] for r in csv_rows(out.read_text(encoding="utf-8"))] == ["E05000001"]


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--la", "Trafford"], "--la"),
        (["--category", "knitting"], "--category"),
        (["--as-of", "2024-02-30"], "--as-of"),
        (["--format", "docx"], "--format"),
        (["--crs", "EPSG:3857"], "--crs"),
    ],
)
def test_mapper_gaps_names_a_bad_option(session, database_url, args, option):
    two_wards(session)
    result = run_mapper(database_url, *args)
    assert result.returncode == 2
    assert option in result.stderr and result.stdout == ""
