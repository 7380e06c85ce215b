"""OGC API – Features `bbox` is exact: the index narrows, then the geometry must intersect
the box (Part 1, /req/core/fc-bbox-response), on the real Manchester and Trafford wards."""

import geopandas as gpd
import pytest

from mapper.core.wards import save_wards
from tests.factories import TRAFFORD, make_group, run_cli, two_wards
from tests.realdata import MANCHESTER_WARDS, TRAFFORD_WARDS_2023

# Its box meets the query's box, but the ward itself lies about 0.0145° outside it.
OUTSIDE = "E05015241"
BOX = "-2.35,53.40,-2.25,53.46"


@pytest.fixture
def manchester_and_trafford(app, session, geodata):
    wards = gpd.read_file(geodata / MANCHESTER_WARDS).rename(
        columns={
            "area_code": "code",
            "area_name": "name",
            "local_authority_area_code": "la_code",
            "local_authority_area_name": "la_name",
        }
    )[["code", "name", "la_code", "la_name", "geometry"]]
    wards["vintage"] = "2023"
    save_wards(session, wards)
    session.commit()
    run_cli(app, "import-wards", geodata / TRAFFORD_WARDS_2023, "--vintage", "2023", *TRAFFORD)
    session.rollback()


def codes(client, collection, query):
    response = client.get(f"/ogc/collections/{collection}/items?{query}&limit=1000&f=json")
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_json()
    assert data["numberMatched"] == data["numberReturned"]
    return sorted(f["id"] for f in data["features"])


@pytest.mark.parametrize("collection", ["wards", "gaps"])
def test_bbox_keeps_only_the_wards_that_intersect_it(client, manchester_and_trafford, collection):
    found = codes(client, collection, f"bbox={BOX}")
    assert len(found) == 23 and OUTSIDE not in found
    # With heights the same box gives the same wards.
    assert codes(client, collection, "bbox=-2.35,53.40,-10,-2.25,53.46,100") == found


def test_a_bbox_crossing_the_antimeridian_is_two_boxes(client, manchester_and_trafford):
    # From 170°E eastwards over the antimeridian to 2.25°W: Manchester and Trafford west
    # of 2.25°W, the same wards as the box from 180°W.
    across = codes(client, "wards", "bbox=170,53.40,-2.25,53.46")
    assert across == codes(client, "wards", "bbox=-180,53.40,-2.25,53.46")
    assert set(codes(client, "wards", f"bbox={BOX}")) < set(across)
    assert codes(client, "wards", "bbox=170,53.40,-170,53.46") == []


def test_bbox_on_points_is_exact_too(client, session):
    two_wards(session)
    make_group(session, "Inside", (-2.05, 53.45))
    make_group(session, "Outside", (-1.95, 53.45))
    response = client.get("/ogc/collections/groups/items?bbox=-2.06,53.44,-2.04,53.46")
    assert [f["properties"]["name"] for f in response.get_json()["features"]] == ["Inside"]
    response = client.get("/ogc/collections/groups/items?bbox=179,53.44,-2.04,53.46,")
    assert response.status_code == 400
    response = client.get("/ogc/collections/groups/items?bbox=179,53.44,-2.04,53.46")
    assert [f["properties"]["name"] for f in response.get_json()["features"]] == ["Inside"]
