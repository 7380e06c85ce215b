"""Snapshots and changes on the web: pages, downloads byte for byte, the admin's button,
and every bad parameter named."""

import csv
import io
import json
import re
import subprocess

import pytest
import shapely
from sqlalchemy import func, select

from mapper.core import analysis, snapshots
from mapper.store.evidence import Snapshot
from tests.factories import make_group, make_user, trafford_across_boundary_change, two_wards
from tests.forms import post_form, sign_in, sign_out

JSON = {"Accept": "application/json"}


def borough(session):
    two_wards(session)
    make_group(session, "=SUM(A1:A9)", (-2.05, 53.45), categories=["food-support"])
    make_group(session, "Food Share", (-1.95, 53.45), categories=["food-support"])
    return snapshots.take_snapshot(session, "Spring review", ["E08000099"])


def without_time(data):
    """A gap-analysis GeoJSON without the moment it was generated."""
    data = json.loads(json.dumps(data))
    data["metadata"].pop("generated_at")
    data["metadata"].pop("snapshot", None)
    return data


def test_a_snapshot_downloads_as_the_live_analysis_did_and_the_same_bytes_every_time(
    client, session
):
    two_wards(session)
    make_group(session, "Food Share", (-1.95, 53.45), categories=["food-support"])
    live = client.get("/gaps.geojson?la=E08000099")
    snapshot = snapshots.take_snapshot(session, "Spring review", ["E08000099"])
    first = client.get(f"/snapshots/{snapshot.id}.geojson")
    assert first.status_code == 200 and first.content_type == "application/geo+json"
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert re.fullmatch(
        rf'attachment; filename="community-gaps_snapshot-{snapshot.id}_E08000099_'
        r'\d{4}-\d{2}-\d{2}\.geojson"',
        first.headers["Content-Disposition"],
    )
    data = json.loads(first.get_data())
    assert without_time(data) == without_time(json.loads(live.get_data()))
    assert data["metadata"]["snapshot"]["label"] == "Spring review"
    assert data["metadata"]["method_version"] == analysis.METHOD_VERSION
    assert "crs" not in data
    for feature in data["features"]:
        for polygon in feature["geometry"]["coordinates"]:
            assert shapely.LinearRing(polygon[0]).is_ccw  # RFC 7946, like the live one
    # New data, a new day: the snapshot's bytes do not move.
    for i in range(3):
        make_group(session, f"Later {i}", (-2.09 + i / 100, 53.41))
    for extension in ("geojson", "csv"):
        once = client.get(f"/snapshots/{snapshot.id}.{extension}").get_data()
        again = client.get(f"/snapshots/{snapshot.id}.{extension}").get_data()
        assert once == again
    assert client.get(f"/snapshots/{snapshot.id}.geojson").get_data() == first.get_data()
    assert client.get("/gaps.geojson?la=E08000099").get_data() != live.get_data()


def test_a_snapshot_csv_is_spreadsheet_safe_and_narrows_to_a_ward(client, session):
    snapshot = borough(session)
    response = client.get(f"/snapshots/{snapshot.id}.csv?ward=E05000002")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["ward_code"] for r in rows] == ["E05000002"]
    assert list(rows[0]) == list(analysis.PROPERTIES)
    names = client.get(f"/snapshots/{snapshot.id}.geojson?ward=E05000002").get_json()
    assert names["metadata"]["snapshot"]["subset"] == {"la": [], "ward": ["E05000002"]}
    assert names["metadata"]["counts"]["wards"] == 1


def test_gdal_reads_a_snapshot_download(client, session, tmp_path):
    snapshot = borough(session)
    path = tmp_path / "snapshot.geojson"
    path.write_bytes(client.get(f"/snapshots/{snapshot.id}.geojson").get_data())
    result = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", str(path)], capture_output=True, text=True, check=True
    )
    assert "Feature Count: 2" in result.stdout and "groups: Integer" in result.stdout


def test_the_snapshot_pages_list_and_describe_it(client, session):
    snapshot = borough(session)
    listing = client.get("/snapshots").get_data(as_text=True)
    assert "Spring review" in listing and "Take a snapshot now" not in listing
    page = client.get(f"/snapshots/{snapshot.id}").get_data(as_text=True)
    assert "Spring review" in page and "West Ward" in page
    assert f"/changes?la=E08000099&amp;from_snapshot={snapshot.id}" in page
    index = client.get("/snapshots.json").get_json()["snapshots"]
    assert [s["id"] for s in index] == [snapshot.id]
    assert index[0]["local_authorities"] == [{"code": "E08000099", "name": "Testshire", "wards": 2}]
    assert index[0]["links"]["geojson"] == f"/snapshots/{snapshot.id}.geojson"
    assert index[0]["reconstructed"] is False


def test_an_administrator_takes_a_snapshot_with_the_button(client, session):
    two_wards(session)
    make_user(session, "admin@council.example", "admin", "Council", True)
    make_user(session, "ed@lio.example")
    sign_in(client, "ed@lio.example")
    response = post_form(client, "/snapshots", {"la": "E08000099", "label": "x"}, "/sign-in")
    assert response.status_code == 403
    sign_out(client)
    sign_in(client, "admin@council.example")
    assert "Take a snapshot now" in client.get("/snapshots").get_data(as_text=True)
    response = post_form(
        client, "/snapshots", {"la": "E08000099", "label": "2026 annual review"}, "/snapshots"
    )
    assert response.status_code == 302
    [taken] = session.scalars(select(Snapshot)).all()
    assert response.headers["Location"] == f"/snapshots/{taken.id}"
    assert (taken.label, taken.scope, taken.kind) == ("2026 annual review", "E08000099", "manual")
    assert taken.created_by_id is not None
    response = post_form(client, "/snapshots", {"la": "E08000001", "label": ""}, "/snapshots")
    assert response.status_code == 422 and "unknown: E08000001" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Snapshot)) == 1


@pytest.mark.parametrize(
    ("url", "status", "field"),
    [
        ("/snapshots/{id}.geojson?la=Trafford", 400, "la"),
        ("/snapshots/{id}.geojson?la=E08000001", 400, "la"),
        ("/snapshots/{id}.csv?ward=E05999999", 400, "ward"),
        ("/snapshots/{id}.csv?colour=red", 400, "colour"),
        ("/snapshots/999999.geojson", 404, None),
        ("/snapshots.json?limit=0", 400, "limit"),
        ("/changes.geojson", 400, "from"),
        ("/changes.geojson?la=E08000099", 400, "from"),
        ("/changes.geojson?from=2026-13-01", 400, "from"),
        ("/changes.csv?from=2020-01-01", 404, "from"),
        ("/changes.csv?from_snapshot=abc", 400, "from_snapshot"),
        ("/changes.csv?from_snapshot=999999", 404, "from_snapshot"),
        ("/changes.csv?from=2026-01-01&from_snapshot={id}", 400, "from_snapshot"),
        ("/changes.csv?from=2026-02-01&to=2026-01-01", 400, "to"),
        ("/changes.csv?from_snapshot={id}&la=E08000001", 400, "la"),
        ("/changes.csv?from_snapshot={id}&since=2020", 400, "since"),
    ],
)
def test_bad_parameters_of_snapshots_and_changes_are_named(client, session, url, status, field):
    snapshot = borough(session)
    response = client.get(url.format(id=snapshot.id), headers=JSON)
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    if field:
        assert field in error["fields"], error


def test_the_change_downloads_say_which_wards_were_converted_and_how(client, session, geodata, app):
    before, after = trafford_across_boundary_change(app, session, geodata)
    query = f"la=E08000009&from_snapshot={before.id}&to_snapshot={after.id}"
    data = client.get(f"/changes.geojson?{query}").get_json()
    assert len(data["features"]) == 21 and "crs" not in data
    properties = data["features"][0]["properties"]
    assert properties["converted"] is True and properties["conversion"] == "postcodes"
    assert properties["converted_from"][0].startswith("E050008")
    assert data["metadata"]["conversion"]["from_vintage"] == "2017"
    assert "2023" in data["metadata"]["attribution"]
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/changes.csv?{query}").get_data(as_text=True)))
    )
    assert len(rows) == 21 and sum(float(r["groups_from"]) for r in rows) == pytest.approx(
        81, abs=0.02
    )
    assert rows[0]["converted"] == "True" and ";" in rows[0]["converted_from"]
    page = client.get(f"/changes?{query}").get_data(as_text=True)
    assert "21 of 21 wards converted from the 2017 wards" in page
    assert 'id="change-map"' in page and "<script>" not in page and " style=" not in page


def test_the_change_page_offers_a_form_and_names_what_is_wrong(client, session):
    borough(session)
    page = client.get("/changes")
    assert page.status_code == 200 and "Compare" in page.get_data(as_text=True)
    response = client.get("/changes?la=E08000099&from=2001-01-01")
    assert response.status_code == 404
    assert "no snapshot of E08000099 describes 2001-01-01" in response.get_data(as_text=True)
    response = client.get("/changes?from=2026-01-01&from_snapshot=1")
    assert response.status_code == 400
    assert "give either from or from_snapshot" in response.get_data(as_text=True)
