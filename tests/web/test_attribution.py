"""The boundaries' attribution comes from the data loaded: the fictional demo says it is
fictional in its downloads, pages and PDFs; real ONS boundaries keep the ONS/OS licence."""

import io
import json

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from mapper.core import snapshots
from mapper.io.located import DEMO_ATTRIBUTION
from mapper.store.models import Ward
from tests.factories import run_cli, two_wards

CLAIMS = ("Office for National Statistics", "Crown copyright", "Open Government Licence")


@pytest.fixture
def demo(app, session):
    run_cli(app, "demo")


def no_claims(text):
    return not any(claim in text for claim in CLAIMS)


def test_the_demo_downloads_say_the_boundaries_are_fictional(client, demo, tmp_path):
    metadata = json.loads(client.get("/gaps.geojson").get_data())["metadata"]
    assert metadata["attribution"] == DEMO_ATTRIBUTION
    assert "boundary_attribution" not in metadata  # said once, in words
    book = load_workbook(io.BytesIO(client.get("/gaps.xlsx").get_data()))
    about = " ".join(str(c.value) for sheet in book for row in sheet.iter_rows() for c in row)
    assert DEMO_ATTRIBUTION in about and no_claims(about)
    path = tmp_path / "gaps.gpkg"
    path.write_bytes(client.get("/gaps.gpkg?crs=EPSG:27700").get_data())
    assert no_claims(path.read_bytes().decode("latin-1"))


def test_the_demo_pages_and_pdfs_say_the_boundaries_are_fictional(client, demo):
    for url in ("/", "/wards/E05999001", "/whats-changed"):
        html = client.get(url).get_data(as_text=True)
        assert DEMO_ATTRIBUTION in html and no_claims(html), url
    # The method page describes ONS data in its text; its footer claims none for the demo.
    footer = client.get("/method").get_data(as_text=True).split("<footer", 1)[1]
    assert DEMO_ATTRIBUTION in footer and no_claims(footer)
    pdf = client.get("/wards/E05999001.pdf")
    assert pdf.status_code == 200
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.get_data())).pages)
    assert "fictional borough" in " ".join(text.split()) and no_claims(text)


def test_a_snapshot_of_the_demo_and_the_change_since_say_so_too(client, session, demo):
    snapshot = snapshots.take_snapshot(session, "Demo", ["E06999901"])
    for url in (
        f"/snapshots/{snapshot.id}.geojson",
        f"/changes.geojson?la=E06999901&from_snapshot={snapshot.id}",
    ):
        metadata = json.loads(client.get(url).get_data())["metadata"]
        assert metadata["attribution"] == DEMO_ATTRIBUTION, url


def test_real_boundaries_keep_the_ons_and_os_attribution(client, session):
    two_wards(session)
    metadata = json.loads(client.get("/gaps.geojson").get_data())["metadata"]
    assert metadata["attribution"].startswith("Source: Office for National Statistics")
    assert metadata["attribution"].endswith("database right 2024")
    html = client.get("/").get_data(as_text=True)
    assert "Ward boundaries: Source: Office for National Statistics" in html
    assert "fictional" not in html


def test_both_loaded_each_says_its_own(client, session, demo):
    two_wards(session)
    footer = client.get("/").get_data(as_text=True)
    assert DEMO_ATTRIBUTION in footer and "Office for National Statistics" in footer
    testshire = json.loads(client.get("/gaps.geojson?la=E08000099").get_data())["metadata"]
    assert testshire["attribution"].startswith("Source: Office for National Statistics")
    eastmere = json.loads(client.get("/gaps.geojson?la=E06999901").get_data())["metadata"]
    assert eastmere["attribution"] == DEMO_ATTRIBUTION


def test_import_wards_stores_the_attribution_it_is_given(app, session, client, tmp_path):
    path = tmp_path / "wards.geojson"
    square = [[[-2.1, 53.4], [-2.0, 53.4], [-2.0, 53.5], [-2.1, 53.5], [-2.1, 53.4]]]
    feature = {
        "type": "Feature",
        "properties": {"code": "E05000003", "name": "Own Ward", "la_code": "E08000099"},
        "geometry": {"type": "Polygon", "coordinates": square},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    note = "Boundaries © Testshire Council, drawn by its GIS team."
    run_cli(app, "import-wards", path, "--vintage", "2025", "--attribution", note)
    assert session.query(Ward).one().attribution == note
    metadata = json.loads(client.get("/gaps.geojson").get_data())["metadata"]
    assert metadata["attribution"] == note
