"""The GeoJSON and CSV writers (mapper.exports) for the gap analysis."""

import csv
import io

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon

from mapper.core import analysis
from mapper.io import exports


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+44 161 000", "'+44 161 000"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tTabbed", "'\tTabbed"),
        ("\rReturn", "'\rReturn"),
        ("Ancoats & Beswick", "Ancoats & Beswick"),
        ("Ynys Môn", "Ynys Môn"),
        (["food-support", "faith"], "food-support;faith"),
        (["=evil", "faith"], "'=evil;faith"),
        ([], ""),
        (None, ""),
        (float("nan"), ""),
        (np.int64(3), "3"),
        (0.125, "0.125"),
    ],
)
def test_csv_cells_join_lists_and_neutralise_formulas(value, cell):
    assert exports.csv_cell(value) == cell


def frame_of(rows):
    """A result shaped like compute_gaps's, built without a database."""
    rows = [dict.fromkeys(analysis.PROPERTIES) | row for row in rows]
    frame = gpd.GeoDataFrame(
        rows,
        geometry=[
            MultiPolygon([Polygon([(0, 0), (0, 1.123456789), (1, 1), (1, 0)])])  # clockwise
            for _ in rows
        ],
        crs="EPSG:4326",
    )
    frame.attrs["metadata"] = {
        "method": analysis.METHOD,
        "method_version": analysis.METHOD_VERSION,
        "generated_at": "2026-11-27T10:00:00+00:00",
        "parameters": {"la": ["E08000003"], "ward": [], "category": [], "kind": [], "as_of": None},
        "counts": {"wards": len(rows)},
        "boundary_vintage": "2023",
    }
    return frame


def test_gaps_csv_has_a_header_and_one_safe_row_per_ward():
    frame = frame_of(
        [
            {"ward_code": "E05000001", "ward_name": '=HYPERLINK("x")', "groups": 3},
            {
                "ward_code": "E05000002",
                "ward_name": "Plain",
                "groups": 0,
                "categories_missing": ["a", "b"],
            },
        ]
    )
    rows = list(csv.reader(io.StringIO(exports.gaps_csv(frame))))
    assert rows[0] == list(analysis.PROPERTIES)
    assert len(rows) == 3 and all(len(r) == len(analysis.PROPERTIES) for r in rows)
    record = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert record[0]["ward_name"] == '\'=HYPERLINK("x")' and record[0]["groups"] == "3"
    assert record[1]["categories_missing"] == "a;b" and record[1]["population"] == ""


def test_gaps_geojson_is_rfc7946_with_metadata_and_attribution():
    frame = frame_of([{"ward_code": "E05000001", "groups": np.int64(2), "area_km2": np.nan}])
    data = exports.gaps_geojson(frame, "Contains OS data © Crown copyright {vintage}")
    assert data["type"] == "FeatureCollection" and "crs" not in data
    assert data["metadata"]["attribution"] == "Contains OS data © Crown copyright 2023"
    feature = data["features"][0]
    assert feature["id"] == "E05000001"
    assert feature["properties"]["groups"] == 2 and feature["properties"]["area_km2"] is None
    assert list(feature["properties"]) == list(analysis.PROPERTIES)
    ring = feature["geometry"]["coordinates"][0][0]
    assert shapely.LinearRing(ring).is_ccw
    assert [0.0, 1.123457] in [list(xy) for xy in ring]


def test_download_names_say_what_and_when():
    frame = frame_of([{"ward_code": "E05000001"}])
    metadata = frame.attrs["metadata"]
    assert exports.gaps_filename(metadata, "csv") == "community-gaps_E08000003_2026-11-27.csv"
    metadata["parameters"].update(la=[], category=["food-support"], as_of="2024-01-01")
    assert (
        exports.gaps_filename(metadata, "geojson")
        == "community-gaps_all-wards_food-support_as-of-2024-01-01_2026-11-27.geojson"
    )
