"""The gap analysis (mapper.analysis): counts, classes, priorities, filters and metadata."""

from datetime import date, timedelta

import numpy as np
import pytest
import shapely
from geoalchemy2.shape import to_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import delete, select

from mapper import geo
from mapper.core import analysis, records, wards
from mapper.store import db
from mapper.store.models import Coordinator, Ward
from tests.factories import load_manchester, make_group, make_service, make_wards, two_wards


def by_code(frame, column):
    return dict(zip(frame["ward_code"], frame[column], strict=True))


def three_wards(session):
    """Three squares in a row; E05000003 (east) is the most deprived."""
    wards = make_wards(
        session,
        {
            "E05000001": ("West", box(-2.2, 53.4, -2.1, 53.5)),
            "E05000002": ("Middle", box(-2.1, 53.4, -2.0, 53.5)),
            "E05000003": ("East", box(-2.0, 53.4, -1.9, 53.5)),
        },
    )
    for code, population, decile in (
        ("E05000001", 1000, 9),
        ("E05000002", 1000, 5),
        ("E05000003", 1000, 1),
    ):
        wards[code].population, wards[code].imd_decile = population, decile
    session.commit()
    return wards


def test_manchester_groups_per_ward_equal_the_polling_stations_own_ward_tallies(session, geodata):
    stations = load_manchester(session, geodata)
    assert len(stations) == 198
    frame = analysis.compute_gaps(session, la_codes=["E08000003"])
    assert len(frame) == 32 and frame["ward_code"].is_unique
    expected = stations["ward_code"].value_counts()
    assert by_code(frame, "groups") == {
        code: int(expected.get(code, 0)) for code in frame["ward_code"]
    }
    assert frame["groups"].sum() == 198
    assert set(frame["la_name"]) == {"Manchester"} and set(frame["vintage"]) == {"2023"}
    # The nearest station to each ward's point on surface, checked against every station.
    labels = session.execute(select(Ward.code, Ward.label_point)).all()
    xy = shapely.get_coordinates(stations.geometry.values)
    for code, label in labels:
        label = to_shape(label)
        assert label.within(frame.set_index("ward_code").geometry[code])
        expected_km = geo.haversine_km(label.x, label.y, xy[:, 0], xy[:, 1]).min()
        assert by_code(frame, "nearest_group_km")[code] == pytest.approx(expected_km, abs=5e-4)


def test_the_result_has_exactly_the_documented_properties_in_order(session):
    two_wards(session)
    frame = analysis.compute_gaps(session)
    assert list(frame.columns) == [*analysis.PROPERTIES, "geometry"]
    assert frame.crs == geo.WGS84


def test_point_on_shared_boundary_is_counted_once(session):
    two_wards(session)
    make_group(session, "Edge Club", (-2.0, 53.45))
    make_group(session, "Corner Club", (-2.0, 53.5))
    frame = analysis.compute_gaps(session)
    assert by_code(frame, "groups") == {"E05000001": 2, "E05000002": 0}


def test_a_ward_with_no_groups_is_none(session):
    three_wards(session)
    make_group(session, "West One", (-2.15, 53.45))
    make_group(session, "Middle One", (-2.05, 53.45))
    classes = by_code(analysis.compute_gaps(session), "activity_class")
    assert classes["E05000003"] == "none"
    assert classes["E05000001"] != "none" and classes["E05000002"] != "none"


def test_pending_closed_and_inactive_groups_never_count(session):
    two_wards(session)
    make_group(session, "Active", (-2.05, 53.45))
    for status in ("pending", "closed", "inactive"):
        make_group(session, status.title(), (-2.05, 53.46), status=status)
    assert analysis.compute_gaps(session)["groups"].sum() == 1


def test_category_filter_counts_only_groups_of_those_categories(session):
    two_wards(session)
    make_group(session, "Food West", (-2.05, 53.45), categories=["food-support"])
    make_group(session, "Food East", (-1.95, 53.45), categories=["food-support", "faith"])
    make_group(session, "Faith East", (-1.95, 53.46), categories=["faith"])
    make_group(session, "Arts East", (-1.95, 53.47), categories=["arts-culture"])

    def groups(**filters):
        return by_code(analysis.compute_gaps(session, **filters), "groups")

    assert groups() == {"E05000001": 3, "E05000002": 1}
    assert groups(categories=["food-support"]) == {"E05000001": 1, "E05000002": 1}
    assert groups(categories=["faith"]) == {"E05000001": 2, "E05000002": 0}
    assert groups(categories=["faith", "arts-culture"]) == {"E05000001": 3, "E05000002": 0}
    assert groups(categories=["carers"]) == {"E05000001": 0, "E05000002": 0}


def test_as_of_counts_the_groups_active_on_that_date(session):
    two_wards(session)
    make_group(session, "Since 2020", (-2.05, 53.45), active_from=date(2020, 1, 1))
    make_group(
        session,
        "Closed mid 2023",
        (-2.05, 53.46),
        status="closed",
        active_from=date(2019, 3, 1),
        active_until=date(2023, 6, 30),
    )
    make_group(session, "Started 2025", (-2.05, 53.47), active_from=date(2025, 2, 1))
    make_group(
        session,
        "Pending since 2018",
        (-2.05, 53.48),
        status="pending",
        active_from=date(2018, 1, 1),
    )

    def west(as_of=None):
        return by_code(analysis.compute_gaps(session, as_of=as_of), "groups")["E05000002"]

    assert west() == 2  # active now: since 2020 and started 2025
    assert west(date(2019, 6, 1)) == 1  # only the one that closed later
    assert west(date(2023, 6, 30)) == 2  # its last active day
    assert west(date(2023, 7, 1)) == 1
    assert west(date(2025, 2, 1)) == 2
    assert west(date(2018, 6, 1)) == 0  # pending never counts


def test_kind_filter_matches_whatever_the_case(session):
    two_wards(session)
    make_group(session, "Charity", (-2.05, 53.45), kind="Charity")
    make_group(session, "CIC", (-2.05, 53.46), kind="cic")
    make_group(session, "Unknown kind", (-2.05, 53.47))
    frame = analysis.compute_gaps(session, kinds=["charity", "CIC"])
    assert by_code(frame, "groups")["E05000002"] == 2
    frame = analysis.compute_gaps(session, kinds=["mutual aid"])
    assert frame["groups"].sum() == 0


def test_groups_serving_counts_active_groups_based_elsewhere(session):
    wards = three_wards(session)
    make_group(session, "Serves East", (-2.15, 53.45), wards_served=[wards["E05000003"]])
    make_group(
        session,
        "Serves its own ward too",
        (-2.05, 53.45),
        wards_served=[wards["E05000002"], wards["E05000003"]],
    )
    make_group(
        session, "Pending", (-2.15, 53.46), status="pending", wards_served=[wards["E05000003"]]
    )
    frame = analysis.compute_gaps(session)
    assert by_code(frame, "groups_serving") == {"E05000001": 0, "E05000002": 0, "E05000003": 2}
    assert by_code(frame, "groups")["E05000003"] == 0


def test_groups_stale_counts_groups_not_verified_for_twelve_months(session):
    two_wards(session)
    today = date.today()
    make_group(session, "Fresh", (-2.05, 53.45), last_verified=today - timedelta(days=300))
    make_group(session, "Old", (-2.05, 53.46), last_verified=today - timedelta(days=400))
    make_group(session, "Never", (-2.05, 53.47))
    frame = analysis.compute_gaps(session)
    assert by_code(frame, "groups_stale")["E05000002"] == 2
    # Relative to as_of: a year earlier nothing had been verified that long ago yet.
    frame = analysis.compute_gaps(session, as_of=today - timedelta(days=380))
    assert by_code(frame, "groups_stale")["E05000002"] == 1  # only "Never"
    frame = analysis.compute_gaps(session, params={"stale_months": 24})
    assert by_code(frame, "groups_stale")["E05000002"] == 1


def test_services_and_rates_per_thousand_residents(session):
    wards = three_wards(session)
    wards["E05000003"].population = 2000
    session.commit()
    make_service(session, "Library", (-1.95, 53.45))
    make_service(session, "Closed library", (-1.95, 53.46), status="closed")
    for i in range(3):
        make_group(session, f"Group {i}", (-1.95, 53.41 + i / 100))
    frame = analysis.compute_gaps(session)
    east = frame.set_index("ward_code").loc["E05000003"]
    assert (east["services"], east["services_per_1k"]) == (1, 0.5)
    assert (east["groups"], east["groups_per_1k"]) == (3, 1.5)


def test_rates_are_null_without_a_population(session):
    two_wards(session)
    make_group(session, "Club", (-2.05, 53.45))
    frame = analysis.compute_gaps(session)
    assert frame["population"].isna().all() and frame["groups_per_1k"].isna().all()


def test_categories_present_and_missing_split_the_core_categories(session):
    two_wards(session)
    make_group(session, "Food", (-2.05, 53.45), categories=["food-support", "faith"])
    make_group(
        session, "Pending elders", (-2.05, 53.46), status="pending", categories=["older-people"]
    )
    frame = analysis.compute_gaps(session).set_index("ward_code")
    west = frame.loc["E05000002"]
    assert west["categories_present"] == ["food-support"]  # faith is not a core category
    assert west["categories_missing"] == [
        c for c in analysis.CORE_CATEGORIES if c != "food-support"
    ]
    assert frame.loc["E05000001", "categories_present"] == []
    # With a category filter, the categories asked about are the ones analysed.
    frame = analysis.compute_gaps(session, categories=["faith", "carers"]).set_index("ward_code")
    assert frame.loc["E05000002", "categories_present"] == ["faith"]
    assert frame.loc["E05000002", "categories_missing"] == ["carers"]


def test_coordinator_coverage_follows_coordinators_as_they_are_saved(session):
    two_wards(session)

    def coverage():
        return by_code(analysis.compute_gaps(session), "coordinator_coverage")

    assert coverage() == {"E05000001": 0.0, "E05000002": 0.0}
    half_of_west = MultiPolygon([box(-2.1, 53.3, -2.05, 53.6)])
    record = {"external_id": "C1", "name": "A Coordinator", "patch": half_of_west}
    records.save_located(session, Coordinator, [record])
    session.commit()
    assert coverage() == {"E05000001": 0.0, "E05000002": 0.5}
    # Overlapping patches are not counted twice.
    both = MultiPolygon([box(-2.1, 53.3, -1.95, 53.6)])
    records.save_located(session, Coordinator, [{**record, "external_id": "C2", "patch": both}])
    session.commit()
    assert coverage() == {"E05000001": 0.5, "E05000002": 1.0}
    session.execute(delete(Coordinator).where(Coordinator.external_id == "C2"))
    wards.update_coordinator_coverage(session)
    session.commit()
    assert coverage() == {"E05000001": 0.0, "E05000002": 0.5}
    # Moving a patch through the ORM updates the wards it left and the ward it reached.
    moved = session.scalar(select(Coordinator).where(Coordinator.external_id == "C1"))
    moved.patch = db.to_wkb_element(MultiPolygon([box(-1.95, 53.3, -1.8, 53.6)]))
    session.commit()
    assert coverage() == {"E05000001": 0.5, "E05000002": 0.0}
    session.delete(moved)
    session.commit()
    assert coverage() == {"E05000001": 0.0, "E05000002": 0.0}


def test_nearest_group_km_is_the_great_circle_distance_to_the_nearest_active_group(session):
    make_wards(
        session,
        {
            "E05000001": ("Town", box(-2.1, 53.4, -2.0, 53.5)),
            "E05000002": ("Moor", box(-2.0, 53.4, -1.0, 54.0)),
            "E05000003": ("Island", box(-6.0, 57.0, -5.9, 57.1)),
        },
    )
    rng = np.random.default_rng(4)
    lonlats = np.column_stack([rng.uniform(-2.1, -2.0, 40), rng.uniform(53.4, 53.5, 40)])
    for i, lonlat in enumerate(lonlats):
        make_group(session, f"Town group {i}", tuple(lonlat), categories=["faith"] * (i % 2))
    make_group(session, "Far pending", (-5.95, 57.05), status="pending")
    make_group(session, "Outside every ward", (-1.5, 54.5), categories=["food-support"])
    frame = analysis.compute_gaps(session, ward_codes=["E05000002", "E05000003", "E05000001"])
    labels = {
        w.code: to_shape(w.label_point) for w in session.scalars(select(Ward).order_by(Ward.code))
    }
    everywhere = np.vstack([lonlats, [(-1.5, 54.5)]])
    for code, label in labels.items():
        distances = geo.haversine_km(label.x, label.y, everywhere[:, 0], everywhere[:, 1])
        assert by_code(frame, "nearest_group_km")[code] == pytest.approx(distances.min(), abs=0.001)
    # Filters apply: the nearest faith group.
    frame = analysis.compute_gaps(session, categories=["faith"])
    faith = lonlats[1::2]
    distances = geo.haversine_km(labels["E05000003"].x, labels["E05000003"].y, *faith.T)
    assert by_code(frame, "nearest_group_km")["E05000003"] == pytest.approx(
        distances.min(), abs=0.001
    )


def test_nearest_group_km_is_null_when_no_group_counts(session):
    two_wards(session)
    make_group(session, "Pending", (-2.05, 53.45), status="pending")
    assert analysis.compute_gaps(session)["nearest_group_km"].isna().all()


@pytest.mark.parametrize(
    ("measure", "expected"),
    [
        ([0, 1, 2, 3], ["none", "low", "medium", "high"]),
        ([0, 0, 5], ["none", "none", "medium"]),
        ([2, 2, 2, 2], ["medium"] * 4),
        ([1, 2, 3, 4, 5, 6], ["low", "low", "medium", "medium", "high", "high"]),
        ([3, 1, 1, 0], ["high", "low", "low", "none"]),
    ],
)
def test_activity_classes_are_cut_by_rank_among_the_wards_with_groups(measure, expected):
    classes = analysis.activity_classes(measure, analysis.DEFAULT_PARAMS["class_cuts"])
    assert list(classes) == expected


@pytest.mark.parametrize(
    ("activity", "decile", "coverage", "expected"),
    [
        ("none", 1, 0.0, "priority gap"),
        ("low", 3, 0.49, "priority gap"),
        ("low", 3, 0.5, "develop"),
        ("none", 4, 0.0, "monitor"),
        ("none", None, 0.0, "monitor"),
        ("medium", 1, 0.0, "monitor"),
        ("high", 1, 0.9, "devolution ready"),
        ("high", 8, 0.5, "devolution ready"),
        ("high", 8, 0.2, "monitor"),
        ("high", 8, None, "monitor"),
    ],
)
def test_priority_combines_activity_deprivation_and_coordinator_coverage(
    activity, decile, coverage, expected
):
    result = analysis.priorities(
        np.array([activity], dtype=object),
        np.array([np.nan if decile is None else decile], dtype=float),
        np.array([np.nan if coverage is None else coverage], dtype=float),
        analysis.DEFAULT_PARAMS,
    )
    assert list(result) == [expected]


def test_a_deprived_ward_without_groups_or_coordinator_is_a_priority_gap(session):
    three_wards(session)
    for i in range(4):
        make_group(session, f"West {i}", (-2.15, 53.41 + i / 100))
    make_group(session, "Middle", (-2.05, 53.45))
    frame = analysis.compute_gaps(session)
    assert by_code(frame, "priority")["E05000003"] == "priority gap"
    assert by_code(frame, "activity_class") == {
        "E05000001": "high",
        "E05000002": "low",
        "E05000003": "none",
    }


def test_activity_is_per_square_km_when_a_population_is_missing(session):
    make_wards(
        session,
        {
            "E05000001": ("Small", box(-2.1, 53.4, -2.09, 53.41)),
            "E05000002": ("Big", box(-2.0, 53.4, -1.5, 53.9)),
        },
    )
    make_group(session, "Small one", (-2.095, 53.405))
    for i in range(3):
        make_group(session, f"Big {i}", (-1.9, 53.5 + i / 10))
    frame = analysis.compute_gaps(session)
    assert frame.attrs["metadata"]["parameters"]["activity_measure"] == "groups_per_km2"
    assert by_code(frame, "activity_class") == {"E05000001": "high", "E05000002": "low"}


@pytest.mark.parametrize(
    ("filters", "argument", "value"),
    [
        ({"la_codes": ["E08000001"]}, "la_codes", "E08000001"),
        ({"ward_codes": ["E05000001", "E05999999"]}, "ward_codes", "E05999999"),
        ({"categories": ["knitting"]}, "categories", "knitting"),
        ({"params": {"stale_weeks": 3}}, "params", "stale_weeks"),
    ],
)
def test_unknown_codes_slugs_and_parameters_are_named(session, filters, argument, value):
    two_wards(session)
    with pytest.raises(analysis.UnknownValues) as raised:
        analysis.compute_gaps(session, **filters)
    assert raised.value.argument == argument and raised.value.values == [value]


def test_scope_is_the_current_wards_of_the_local_authorities_asked(session):
    two_wards(session)
    make_wards(session, {"E05000003": ("Elsewhere", box(0, 51, 0.1, 51.1))}, la_code="E08000098")
    old = make_wards(session, {"E05000009": ("Old", box(1, 51, 1.1, 51.1))}, vintage="2015")
    old["E05000009"].current = False
    session.commit()
    assert list(analysis.compute_gaps(session)["ward_code"]) == [
        "E05000001",
        "E05000002",
        "E05000003",
    ]
    frame = analysis.compute_gaps(session, la_codes=["E08000098"])
    assert list(frame["ward_code"]) == ["E05000003"]
    frame = analysis.compute_gaps(session, ward_codes=["E05000002"])
    assert list(frame["ward_code"]) == ["E05000002"]


def test_metadata_states_method_parameters_counts_and_vintage(session):
    two_wards(session)
    make_group(session, "Club", (-2.05, 53.45), categories=["faith"])
    frame = analysis.compute_gaps(
        session, categories=["faith"], as_of=date(2024, 1, 1), params={"covered_min_share": 0.8}
    )
    metadata = frame.attrs["metadata"]
    assert metadata["method_version"] == analysis.METHOD_VERSION
    assert metadata["boundary_vintage"] == "2024"
    parameters = metadata["parameters"]
    assert parameters["category"] == ["faith"] and parameters["as_of"] == "2024-01-01"
    assert parameters["covered_min_share"] == 0.8 and parameters["stale_months"] == 12
    assert parameters["core_categories"] == list(analysis.CORE_CATEGORIES)
    assert metadata["counts"]["wards"] == 2 and metadata["counts"]["groups"] == 1
    assert metadata["counts"]["activity_class"] == {"none": 1, "low": 0, "medium": 1, "high": 0}
    assert sum(metadata["counts"]["priority"].values()) == 2
    assert metadata["generated_at"].endswith("+00:00")


def test_the_analysis_is_deterministic(session):
    three_wards(session)
    rng = np.random.default_rng(7)
    for i in range(30):
        make_group(session, f"G{i}", (rng.uniform(-2.2, -1.9), rng.uniform(53.4, 53.5)))
    first, second = analysis.compute_gaps(session), analysis.compute_gaps(session)
    assert first.drop(columns="geometry").equals(second.drop(columns="geometry"))
    assert first.geometry.geom_equals(second.geometry).all()


def test_the_analysis_writes_nothing(session):
    two_wards(session)
    make_group(session, "Club", (-2.05, 53.45))
    analysis.compute_gaps(session, as_of=date(2024, 1, 1), categories=["faith"])
    assert not session.new and not session.dirty and not session.deleted


def test_months_before_keeps_the_day_or_takes_the_last_of_the_month():
    assert analysis._months_before(date(2026, 11, 27), 12) == date(2025, 11, 27)
    assert analysis._months_before(date(2024, 3, 31), 1) == date(2024, 2, 29)
    assert analysis._months_before(date(2025, 1, 15), 13) == date(2023, 12, 15)


def test_as_of_counts_a_group_without_a_start_date_from_the_day_it_was_recorded(session):
    two_wards(session)
    make_group(session, "Recorded today", (-2.05, 53.45), active_from=None)
    today = date.today()

    def west(as_of):
        return by_code(analysis.compute_gaps(session, as_of=as_of), "groups")["E05000002"]

    assert west(today - timedelta(days=2)) == 0
    assert west(today + timedelta(days=1)) == 1


def test_wards_saved_after_the_coordinators_are_measured_too(session):
    patch = MultiPolygon([box(-2.1, 53.4, -2.075, 53.5)])  # a quarter of the west ward
    records.save_located(session, Coordinator, [{"external_id": "C1", "name": "A", "patch": patch}])
    session.commit()
    two_wards(session)
    frame = analysis.compute_gaps(session)
    assert by_code(frame, "coordinator_coverage") == {"E05000001": 0.0, "E05000002": 0.25}
