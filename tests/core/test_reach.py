"""Reach (core/reach.py through compute_gaps): the share of residents within walking distance
of a group or service of each category, checked against independent computations."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

from mapper import config, geo
from mapper.core import analysis, reach
from mapper.store import db, queries, version
from mapper.store.models import Postcode
from tests.factories import (
    TRAFFORD,
    make_group,
    make_service,
    make_wards,
    polling_stations,
    run_cli,
    two_wards,
)
from tests.realdata import TRAFFORD_POSTCODES, TRAFFORD_WARDS_2023

BNG = f"EPSG:{geo.BNG}"


def by_code(frame, column):
    return dict(zip(frame["ward_code"], frame[column], strict=True))


def test_trafford_reach_of_polling_stations_matches_geopandas(app, session, geodata):
    run_cli(app, "import-wards", geodata / TRAFFORD_WARDS_2023, "--vintage", "2023", *TRAFFORD)
    run_cli(app, "import-postcodes", geodata / TRAFFORD_POSTCODES)
    stations = polling_stations(session, geodata, "E08000009", categories=["food-support"])
    # Independently: every postcode of the file in the ward the file names, the straight
    # line to the nearest station in British National Grid, times the detour factor.
    table = pd.read_csv(geodata / TRAFFORD_POSTCODES)
    postcodes = gpd.GeoDataFrame(
        table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs=geo.WGS84
    ).to_crs(BNG)
    nearest = (
        gpd.sjoin_nearest(postcodes, stations.to_crs(BNG)[["geometry"]], distance_col="metres")
        .groupby(level=0)["metres"]
        .min()
    )
    for metres in (400, 800):
        params = {"reach_metres": metres}
        frame = analysis.compute_gaps(session, la_codes=["E08000009"], params=params)
        assert len(frame) == 21
        expected = (nearest * 1.2 <= metres).groupby(postcodes["ward_code"]).mean()
        got = by_code(frame, "reach_food_support")
        assert set(got) == set(expected.index)
        for code, share in expected.items():
            assert got[code] == pytest.approx(share, abs=0.01), (metres, code)
        # A real spread, not all or nothing.
        assert frame["reach_food_support"].max() - frame["reach_food_support"].min() > 0.3
    assert (frame["reach_older_people"] == 0).all()
    assert frame["reach_core"].to_numpy() == pytest.approx(
        frame["reach_food_support"].to_numpy() / 8, abs=0.001
    )
    residents = frame.attrs["metadata"]["parameters"]["reach_residents"]
    assert residents == {"source": "postcodes", "grid_wards": [], "weighted": False}


def test_reach_crosses_the_ward_edge_and_counts_services(session):
    two_wards(session)  # the edge is lon -2.0
    for i, lon in enumerate((-1.996, -1.95)):  # 270 m and 3.4 km east of the edge
        session.add(Postcode(postcode=f"M1 {i}AA", lon=lon, lat=53.45))
    session.add(Postcode(postcode="M2 1AA", lon=-2.05, lat=53.45))
    session.commit()
    make_group(session, "West Club", (-2.001, 53.45), categories=["food-support"])
    make_service(
        session,
        "Advice Desk",
        (-1.95, 53.451),
        categories=queries.categories_by_slug(session, ["advice-money"]),
    )
    frame = analysis.compute_gaps(session)
    assert by_code(frame, "groups") == {"E05000001": 0, "E05000002": 1}
    assert by_code(frame, "reach_food_support") == {"E05000001": 0.5, "E05000002": 0.0}
    assert by_code(frame, "reach_advice_money") == {"E05000001": 0.5, "E05000002": 0.0}
    # A longer walk reaches the west postcode 3.4 km away, and the query is cached apart.
    wide = analysis.compute_gaps(session, params={"reach_metres": 5000})
    assert by_code(wide, "reach_food_support") == {"E05000001": 1.0, "E05000002": 1.0}
    assert wide.attrs["metadata"]["parameters"]["reach_metres"] == 5000


def test_without_postcodes_a_grid_stands_for_the_residents(session):
    square = box(-2.01, 53.44, -1.99, 53.46)  # about 1.3 km by 2.2 km
    make_wards(session, {"E05000009": ("Square", square)})
    make_group(session, "Centre", (-2.0, 53.45), categories=["older-people"])
    frame = analysis.compute_gaps(session)
    projected = gpd.GeoSeries([square, Point(-2.0, 53.45)], crs=geo.WGS84).to_crs(BNG)
    expected = projected[0].intersection(projected[1].buffer(800 / 1.2, 256)).area
    share = expected / projected[0].area
    assert frame["reach_older_people"][0] == pytest.approx(share, abs=0.02)
    residents = frame.attrs["metadata"]["parameters"]["reach_residents"]
    assert residents == {"source": "grid", "grid_wards": ["E05000009"], "weighted": False}


def test_priority_by_reach_is_an_option(session):
    wards = two_wards(session)
    for ward in wards.values():
        ward.imd_decile, ward.population = 1, 1000
    session.add(Postcode(postcode="M1 1AA", lon=-1.95, lat=53.45))
    session.add(Postcode(postcode="M2 1AA", lon=-2.05, lat=53.45))
    session.commit()
    # Many groups far from the east ward's residents; one next to the west ward's.
    for i in range(5):
        make_group(session, f"East {i}", (-1.91, 53.41 + i / 100), categories=["food-support"])
    make_group(session, "West", (-2.0501, 53.45), categories=["food-support"])
    by_activity = by_code(analysis.compute_gaps(session), "priority")
    by_reach = by_code(analysis.compute_gaps(session, params={"priority_by": "reach"}), "priority")
    assert by_activity == {"E05000001": "monitor", "E05000002": "priority gap"}
    assert by_reach == {"E05000001": "priority gap", "E05000002": "monitor"}


@pytest.mark.parametrize(
    ("params", "argument"),
    [
        ({"reach_metres": 0}, "reach_metres"),
        ({"detour_factor": 0.5}, "detour_factor"),
        ({"priority_by": "luck"}, "priority_by"),
    ],
)
def test_bad_reach_parameters_are_named(session, params, argument):
    with pytest.raises(analysis.UnknownValues) as raised:
        analysis.compute_gaps(session, params=params)
    assert raised.value.argument == argument


def test_reach_column_names():
    assert analysis.reach.column_name("food-support") == "reach_food_support"


def test_the_deployment_settings_set_the_default_reach(app, session):
    assert db.analysis_params(app.config) == {
        "reach_metres": 800.0,
        "detour_factor": 1.2,
        "priority_by": "activity",
    }
    assert db.analysis_params({"REACH_METRES": 1500, "PRIORITY_BY": "reach"}) == {
        "reach_metres": 1500,
        "priority_by": "reach",
    }
    two_wards(session)
    session.info[db.ANALYSIS_PARAMS] = {"reach_metres": 1500, "detour_factor": 1.5}
    parameters = analysis.compute_gaps(session).attrs["metadata"]["parameters"]
    assert (parameters["reach_metres"], parameters["detour_factor"]) == (1500, 1.5)
    asked = analysis.compute_gaps(session, params={"reach_metres": 400})
    assert asked.attrs["metadata"]["parameters"]["reach_metres"] == 400


def test_reach_settings_come_from_the_environment():
    settings = config.from_environment({"REACH_METRES": "1200", "REACH_DETOUR_FACTOR": "1.3"})
    assert settings == {"REACH_METRES": 1200.0, "REACH_DETOUR_FACTOR": 1.3}
    with pytest.raises(config.ConfigError, match="REACH_METRES must be a number, not 'far'"):
        config.from_environment({"REACH_METRES": "far"})


@pytest.mark.parametrize("pairs", [4_000_000, 7])
@pytest.mark.parametrize("many", [40, 2000])
def test_the_squares_find_what_a_tree_finds(pairs, many, monkeypatch):
    """Residents in squares of the distance reach the same places as a shapely STRtree's
    dwithin query, points on a square's edge and at exactly the distance included, also
    when the pairs are compared a few at a time."""
    monkeypatch.setattr(reach._Cells, "PAIRS", pairs)
    rng = np.random.default_rng(7)
    distance = 100.0
    residents = rng.uniform(-1000, 1400, (3000, 2)).round(-1)  # many on square edges
    places = np.vstack([rng.uniform(-1000, 1000, (many, 2)), [[0.0, 0.0], [1500.0, 0.0]]])
    residents = np.vstack([residents, [[distance, 0.0], [0.0, -distance]]])  # exactly at it
    found = reach._Cells(residents[:, 0], residents[:, 1], distance).reached(
        places[:, 0], places[:, 1], distance
    )
    tree = shapely.STRtree(shapely.points(places))
    near = tree.query(shapely.points(residents), predicate="dwithin", distance=distance)[0]
    assert found.any() and not found.all()  # dense places leave a corner unreached
    assert np.array_equal(np.flatnonzero(found), np.unique(near))
    assert found[-2:].all()


def test_a_grid_is_kept_by_the_wards_boundaries(app, session):
    square = box(-2.01, 53.44, -1.99, 53.46)
    make_wards(session, {"E05000009": ("Square", square)})
    session.commit()
    first = analysis.compute_gaps(session)
    make_group(session, "Centre", (-2.0, 53.45), categories=["older-people"])
    session.commit()
    cache = version.cache_of(session)
    kept = [key for key in cache._entries if key[0] == "reach-grid"]
    assert len(kept) == 1
    again = analysis.compute_gaps(session)  # a new data version: the grid is taken as kept
    assert [key for key in cache._entries if key[0] == "reach-grid"] == kept
    assert first["reach_older_people"][0] == 0 and again["reach_older_people"][0] > 0.4
    cache.clear()
    fresh = analysis.compute_gaps(session)  # built again: the same answer
    assert fresh["reach_older_people"][0] == again["reach_older_people"][0]
