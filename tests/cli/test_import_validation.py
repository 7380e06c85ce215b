"""The importers check text, codes, web addresses and geometry exactly as the API does, on
both backends alike, and name the file, the row and the column of each thing they refuse."""

import json
import math
import zipfile

import geopandas as gpd
import pandas as pd
import pytest
from sqlalchemy import func, select

from mapper.store.models import CommunityGroup, Ward
from tests.realdata import GM_LIBRARIES, MANCHESTER_WARDS, TRAFFORD_WARDS_2023

TRAFFORD = ["--la-code", "E08000009", "--la-name", "Trafford"]


def run(app, *args):
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


def count(session, model):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def rejection(output, source, where):
    """Return the line of the output rejecting `where` of `source`, or None."""
    return next(
        (line for line in output.splitlines() if line.startswith(f"{source}: {where}: ")), None
    )


def manchester_with(tmp_path, geodata, changes):
    """Write Manchester's real wards with `changes` {feature number: {column: value}}."""
    frame = gpd.read_file(geodata / MANCHESTER_WARDS)
    for number, cells in changes.items():
        for column, value in cells.items():
            frame.loc[number - 1, column] = value
    path = tmp_path / "manchester_changed.geojson"
    frame.to_file(path, driver="GeoJSON")
    return path


WARD_CELLS = [
    # (feature, column, value, expected words in the rejection); GDAL ends text at a NUL byte,
    # so NUL bytes reach only the CSV readers (the groups' table below)
    (1, "area_name", "N" * 10_000, "area_name must be at most 200 characters"),
    (2, "area_name", " \u2800\u00a0 ", "area_name is made only of invisible characters"),
    (3, "area_name", "\u200b\u200b\u3164", "area_name is made only of invisible characters"),
    (4, "local_authority_area_code", "E0800000X", "is not an ONS GSS code"),
    (5, "local_authority_area_name", "M" * 300, "local_authority_area_name must be at most 200"),
]


def test_ward_cells_the_database_cannot_store_are_named_by_feature_and_column(
    app, session, geodata, tmp_path
):
    path = manchester_with(tmp_path, geodata, {f: {c: v} for f, c, v, _ in WARD_CELLS})
    result = run(app, "import-wards", path, "--vintage", "2023")
    assert result.exit_code == 1, result.output
    for feature, _column, _value, words in WARD_CELLS:
        line = rejection(result.output, path, f"feature {feature}")
        assert line is not None and words in line, (feature, result.output[-2000:])
    assert result.output.strip().endswith("27 imported, 0 updated, 0 unchanged, 5 rejected")
    assert count(session, Ward) == 27
    assert session.scalar(select(func.max(func.length(Ward.name)))) <= 200


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--la-code", "Manchester"], "--la-code 'MANCHESTER' is not a local authority's GSS code"),
        (["--la-code", "E05011350"], "is not a local authority's GSS code"),  # a ward's code
        (["--la-code", "E08000003\x00"], "is not a local authority's GSS code"),
        (["--vintage", "2023-" * 6], "--vintage must be at most 20 characters"),
        (["--vintage", "20\x0023"], "--vintage must not contain NUL bytes"),
        (["--la-name", "T" * 201], "--la-name must be at most 200 characters"),
    ],
)
def test_bad_import_options_stop_the_import_naming_the_option(
    app, session, geodata, options, words
):
    result = run(app, "import-wards", geodata / TRAFFORD_WARDS_2023, "--vintage", "2023", *options)
    assert result.exit_code != 0 and words in result.output, result.output
    assert "Traceback" not in result.output
    assert count(session, Ward) == 0


def test_a_ring_starting_with_nan_is_a_rejected_feature_not_a_traceback(
    app, session, geodata, tmp_path
):
    data = json.loads((geodata / TRAFFORD_WARDS_2023).read_text())
    ring = data["features"][2]["geometry"]["coordinates"][0]
    ring = ring[0] if isinstance(ring[0][0], list) else ring  # a MultiPolygon's first ring
    ring[0] = [float("nan"), ring[0][1]]
    path = tmp_path / "trafford_nan.geojson"
    path.write_text(json.dumps(data))  # NaN, as GDAL writes it
    result = run(app, "import-wards", path, "--vintage", "2023", *TRAFFORD)
    assert result.exit_code == 1 and "Traceback" not in result.output
    line = rejection(result.output, path, "feature 3")
    assert line is not None and "cannot be read (NaN coordinates" in line
    assert count(session, Ward) == len(data["features"]) - 1


def test_a_zip_of_zero_filled_shapefiles_is_named_not_a_traceback(app, session, tmp_path):
    path = tmp_path / "wards.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for extension in ("shp", "shx", "dbf", "prj"):
            archive.writestr(f"wards.{extension}", b"\0" * 1000)
    result = run(app, "import-wards", path, "--vintage", "2023")
    assert result.exit_code == 1
    assert f"{path}: it holds no layer GDAL can read" in result.output
    assert "Traceback" not in result.output and count(session, Ward) == 0


def test_a_polygon_of_a_million_vertices_gets_a_clear_message(app, session, tmp_path):
    n = 1_000_000
    ring = [
        [round(-2.3 + 0.05 * math.cos(2 * math.pi * i / n), 7),
         round(53.45 + 0.05 * math.sin(2 * math.pi * i / n), 7)]
        for i in range(n)
    ]  # fmt: skip
    ring.append(ring[0])
    feature = {
        "type": "Feature",
        "properties": {"WD23CD": "E05000001", "WD23NM": "Huge"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    path = tmp_path / "huge.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    result = run(app, "import-wards", path)
    assert result.exit_code == 1 and "Parser stack overflow" not in result.output
    line = rejection(result.output, path, "feature 1")
    assert line is not None and "1,000,001 vertices, more than 250,000" in line
    assert count(session, Ward) == 0


def trafford_libraries(tmp_path, geodata, changes):
    """Write the real Trafford libraries with `changes` {row: {column: value}} (header = 1)."""
    table = pd.read_csv(geodata / GM_LIBRARIES, dtype=str, keep_default_na=False)
    table = table[table["area_code"] == "E08000009"].reset_index(drop=True)
    for row, cells in changes.items():
        for column, value in cells.items():
            table.loc[row - 2, column] = value
    path = tmp_path / "trafford_libraries.csv"
    table.to_csv(path, index=False)
    return path, len(table)


GROUP_CELLS = [
    # (row, column, value, expected words), as the API refuses the same values (test_guards)
    (2, "website", "javascript:alert(1)", "website must be a web address starting with http"),
    (3, "website", "data:text/html,<b>hi</b>", "website must be a web address starting with http"),
    (4, "name", "Sale\x00Library", "name must not contain NUL bytes"),
    (5, "name", "\u200b\u200d\ufeff", "name is made only of invisible characters"),
    (6, "address", "A" * 501, "address must be at most 500 characters"),
    (7, "name", "L" * 301, "name must be at most 300 characters"),
]


def test_group_cells_are_checked_as_the_api_checks_them_and_named_by_row(
    app, session, geodata, tmp_path
):
    assert run(app, "import-wards", geodata / TRAFFORD_WARDS_2023, "--vintage", "2023",
               *TRAFFORD).exit_code == 0  # fmt: skip
    path, rows = trafford_libraries(tmp_path, geodata, {r: {c: v} for r, c, v, _ in GROUP_CELLS})
    result = run(app, "import-groups", path, "--category", "digital-inclusion")
    assert result.exit_code == 1
    for row, _column, _value, words in GROUP_CELLS:
        line = rejection(result.output, path, f"row {row}")
        assert line is not None and words in line, (row, result.output[-2000:])
    assert result.output.strip().endswith(
        f"{rows - len(GROUP_CELLS)} imported, 0 updated, 0 unchanged, {len(GROUP_CELLS)} rejected"
    )
    websites = session.scalars(select(CommunityGroup.website)).all()
    assert all(w is None or w.startswith("http") for w in websites)
