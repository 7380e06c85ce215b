"""Reach weighted by residents: a postcode directory's population column (read by
`import-postcodes`, stored on postcodes.residents) weights each postcode in reach."""

import geopandas as gpd
import pytest
from shapely.geometry import Point
from sqlalchemy import select

from mapper import geo
from mapper.core import analysis
from mapper.store.models import Postcode
from tests.factories import make_group, run_cli, two_wards

# East ward E05000001 (lon > -2.0): one postcode 270 m from the club and one 3.4 km away;
# west ward E05000002: one postcode without a figure, 3.2 km from the club.
POSTCODES = {"M1 0AA": (-1.996, "3"), "M1 1AA": (-1.95, "1"), "M2 1AA": (-2.05, "")}
CLUB = (-2.001, 53.45)


def write_directory(path, header="Population", figures=None):
    figures = figures or {code: figure for code, (_, figure) in POSTCODES.items()}
    lines = [f"pcds,lat,long,{header}"]
    lines += [f"{code},53.45,{POSTCODES[code][0]},{figures[code]}" for code in POSTCODES]
    path.write_text("\n".join(lines) + "\n")
    return path


def plain_reach(weights):
    """The east ward's share computed plainly: BNG distance times the detour factor."""
    points = gpd.GeoSeries([Point(POSTCODES[c][0], 53.45) for c in weights], crs=geo.WGS84)
    metres = points.to_crs(f"EPSG:{geo.BNG}").distance(
        gpd.GeoSeries([Point(CLUB)] * len(weights), crs=geo.WGS84).to_crs(f"EPSG:{geo.BNG}")
    )
    reached = [w for w, m in zip(weights.values(), metres, strict=True) if m * 1.2 <= 800]
    return sum(reached) / sum(weights.values())


def east_reach(session):
    frame = analysis.compute_gaps(session)
    share = dict(zip(frame["ward_code"], frame["reach_food_support"], strict=True))
    return share, frame.attrs["metadata"]["parameters"]["reach_residents"]


def test_a_population_column_weights_each_postcode(app, session, tmp_path):
    two_wards(session)
    make_group(session, "West Club", CLUB, categories=["food-support"])
    run_cli(app, "import-postcodes", write_directory(tmp_path / "onspd.csv"))
    stored = dict(session.execute(select(Postcode.postcode, Postcode.residents)).all())
    assert stored == {"M1 0AA": 3.0, "M1 1AA": 1.0, "M2 1AA": None}
    share, residents = east_reach(session)
    weighted = plain_reach({"M1 0AA": 3.0, "M1 1AA": 1.0})
    assert weighted == 0.75 and plain_reach({"M1 0AA": 1, "M1 1AA": 1}) == 0.5
    assert share == {"E05000001": pytest.approx(weighted), "E05000002": 0.0}
    assert residents == {"source": "postcodes", "grid_wards": [], "weighted": True}

    # Re-importing updates the figures; a ward whose postcodes all have 0 counts each one.
    zeros = {"M1 0AA": "0", "M1 1AA": "0", "M2 1AA": "2"}
    output = run_cli(app, "import-postcodes", write_directory(tmp_path / "b.csv", figures=zeros))
    assert "0 imported, 3 updated, 0 unchanged, 0 rejected" in output
    share, residents = east_reach(session)
    assert share == {"E05000001": 0.5, "E05000002": 0.0} and residents["weighted"]

    # A directory without the column stores no figures: each postcode counts one.
    (tmp_path / "c.csv").write_text(
        "pcds,lat,long\n" + "".join(f"{c},53.45,{lon}\n" for c, (lon, _) in POSTCODES.items())
    )
    run_cli(app, "import-postcodes", tmp_path / "c.csv")
    assert set(session.scalars(select(Postcode.residents))) == {None}
    share, residents = east_reach(session)
    assert share == {"E05000001": 0.5, "E05000002": 0.0} and not residents["weighted"]


@pytest.mark.parametrize("header", ["residents", "PEOPLE"])
def test_the_column_may_be_named_residents_or_people(app, session, tmp_path, header):
    run_cli(app, "import-postcodes", write_directory(tmp_path / "onspd.csv", header=header))
    assert session.get(Postcode, "M1 0AA").residents == 3.0


def test_a_bad_population_is_rejected_naming_the_row_and_column(app, session, tmp_path):
    figures = {"M1 0AA": "lots", "M1 1AA": "-2", "M2 1AA": "1e999"}
    path = write_directory(tmp_path / "onspd.csv", figures=figures)
    result = app.test_cli_runner().invoke(args=["import-postcodes", str(path)])
    lines = result.output.splitlines()
    for where, reason in [
        ("row 2", "unparseable Population 'lots'"),
        ("row 3", "Population '-2' is not a number of at least 0"),
        ("row 4", "Population '1e999' is not a number of at least 0"),
    ]:
        assert any(line.startswith(f"{path}: {where}: ") and reason in line for line in lines), (
            where,
            result.output,
        )
    assert "0 imported, 0 updated, 0 unchanged, 3 rejected" in result.output
    assert session.scalars(select(Postcode)).all() == []
