"""Change between two dates (mapper.core.changes, mapper.core.conversion), on real data and
on wards drawn to make the arithmetic plain."""

from collections import defaultdict
from datetime import date

import geopandas as gpd
import pytest
from shapely.geometry import box

from mapper.core import changes, snapshots
from mapper.errors import Invalid, NotFound
from mapper.store.models import Postcode
from tests.factories import make_group, make_wards, trafford_across_boundary_change
from tests.realdata import GM_POLLING_STATIONS

TRAFFORD = "E08000009"


def shares_by_earlier_ward(frame):
    """{earlier ward: sum of the shares of it carried onto the later wards}."""
    total = defaultdict(float)
    for carried in frame["converted_from"]:
        for item in carried:
            code, share = item.split(":")
            total[code] += float(share)
    return total


def test_trafford_figures_are_carried_across_the_2023_boundary_change_by_postcodes(
    app, session, geodata
):
    before, after = trafford_across_boundary_change(app, session, geodata)
    assert (before.boundary_vintage, after.boundary_vintage) == ("2017", "2023")
    frame = changes.compute_changes(session, before, after, [TRAFFORD])
    assert len(frame) == 21 and set(frame["vintage"]) == {"2023"}
    assert set(frame["from_vintage"]) == {"2017"}
    # Every 2023 ward was converted, by the postcodes of the 2017 wards it overlaps ...
    assert list(frame["converted"]) == [True] * 21
    assert set(frame["conversion"]) == {"postcodes"}
    conversion = frame.attrs["metadata"]["conversion"]
    assert len(conversion["carried_by_postcodes"]) == 21
    assert conversion["carried_by_area"] == conversion["not_carried"] == []
    assert conversion["postcodes_used"] > 11_000
    # ... each 2017 ward's figures shared out whole among them ...
    assert all(abs(t - 1) < 1e-3 for t in shares_by_earlier_ward(frame).values())
    assert len(shares_by_earlier_ward(frame)) == 21
    # ... so the converted groups add up to the original count.
    stations = gpd.read_file(geodata / GM_POLLING_STATIONS)
    assert (stations["la_code"] == TRAFFORD).sum() == 81
    assert sum(frame["groups_from"]) == pytest.approx(81, abs=0.02)
    assert sum(frame["groups_to"]) == 81
    totals = frame.attrs["metadata"]["totals"]["groups"]
    assert totals["from"] == 81 and totals["to"] == 81
    assert totals["carried"] == pytest.approx(81, abs=0.02)
    # The same stations, counted on either set of wards: no group really moved.
    assert sum(frame["groups_change"]) == pytest.approx(0, abs=0.02)


def test_a_ward_whose_boundary_did_not_change_keeps_its_figures_whole(session):
    make_wards(
        session,
        {
            "E05000001": ("Stays", box(-2.2, 53.4, -2.1, 53.5)),
            "E05000002": ("Old East", box(-2.1, 53.4, -2.0, 53.5)),
        },
        vintage="2020",
    )
    for i in range(3):
        make_group(session, f"West {i}", (-2.19 + i / 100, 53.45))
    for i in range(4):
        make_group(session, f"East {i}", (-2.09 + i / 100, 53.42))
    before = snapshots.take_snapshot(session, "2020")
    # 2024: the east ward is split in two halves (north, south); the west one is redrawn
    # exactly as it was.
    make_wards(
        session,
        {
            "E05000001": ("Stays", box(-2.2, 53.4, -2.1, 53.5)),
            "E05000003": ("North East", box(-2.1, 53.45, -2.0, 53.5)),
            "E05000004": ("South East", box(-2.1, 53.4, -2.0, 53.45)),
        },
        vintage="2024",
        replace=True,
    )
    make_group(session, "North newcomer", (-2.05, 53.48))
    after = snapshots.take_snapshot(session, "2024")
    frame = changes.compute_changes(session, before, after).set_index("ward_code")
    assert frame.loc["E05000001", "converted"] is False
    assert frame.loc["E05000001", ["groups_from", "groups_to", "groups_change"]].tolist() == [
        3,
        3,
        0,
    ]
    # No postcodes are imported: the old east ward is shared by area, half and half.
    assert frame.loc["E05000003", "conversion"] == "area"
    assert frame.loc["E05000003", "groups_from"] == pytest.approx(2, abs=0.01)
    assert frame.loc["E05000004", "groups_from"] == pytest.approx(2, abs=0.01)
    assert frame.loc["E05000003", "groups_to"] == 1  # the four east groups are all south
    assert frame.loc["E05000004", "groups_to"] == 4
    assert frame.loc["E05000003", "change"] == "one fewer"
    assert frame.loc["E05000004", "change"] == "more"
    metadata = frame.attrs["metadata"]["conversion"]
    assert metadata["carried_by_area"] == ["E05000002"]
    assert metadata["carried_by_postcodes"] == []


def test_postcodes_weigh_a_split_by_residents_rather_than_by_area(session):
    make_wards(session, {"E05000002": ("Old", box(-2.1, 53.4, -2.0, 53.5))}, vintage="2020")
    for i in range(10):
        make_group(session, f"Group {i}", (-2.09 + i / 100, 53.42))
    # Three postcodes in the north half, one in the south: three quarters of the residents.
    for i, lonlat in enumerate([(-2.05, 53.48), (-2.06, 53.47), (-2.04, 53.46), (-2.05, 53.41)]):
        session.add(Postcode(postcode=f"TS{i} 1AA", lon=lonlat[0], lat=lonlat[1]))
    session.commit()
    before = snapshots.take_snapshot(session, "2020")
    make_wards(
        session,
        {
            "E05000003": ("North", box(-2.1, 53.45, -2.0, 53.5)),
            "E05000004": ("South", box(-2.1, 53.4, -2.0, 53.45)),
        },
        vintage="2024",
        replace=True,
    )
    after = snapshots.take_snapshot(session, "2024")
    frame = changes.compute_changes(session, before, after).set_index("ward_code")
    assert frame.loc["E05000003", "groups_from"] == pytest.approx(7.5)
    assert frame.loc["E05000004", "groups_from"] == pytest.approx(2.5)
    assert frame.loc["E05000003", "converted_from"] == ["E05000002:0.75"]
    assert set(frame["conversion"]) == {"postcodes"}


def test_the_change_to_now_compares_with_the_live_analysis(session):
    make_wards(session, {"E05000001": ("Only", box(-2.2, 53.4, -2.1, 53.5))})
    make_group(session, "First", (-2.15, 53.45), categories=["food-support"])
    before = snapshots.take_snapshot(session, "Then")
    make_group(session, "Second", (-2.16, 53.45), categories=["older-people"])
    make_group(session, "Third", (-2.17, 53.45), categories=["older-people"])
    frame = changes.compute_changes(session, before)
    [row] = frame.to_dict("records")
    assert (row["groups_from"], row["groups_to"], row["groups_change"]) == (1, 3, 2)
    assert row["categories_gained"] == ["older-people"] and row["categories_lost"] == []
    assert row["change"] == "more" and row["converted"] is False
    assert frame.attrs["metadata"]["to"]["live"] is True


def test_choosing_the_two_sides_by_day_or_by_id(session):
    make_wards(session, {"E05000001": ("Only", box(-2.2, 53.4, -2.1, 53.5))})
    march = snapshots.take_snapshot(session, "March", as_of=date(2026, 3, 1), kind="reconstructed")
    april = snapshots.take_snapshot(session, "April", as_of=date(2026, 4, 1), kind="reconstructed")
    assert changes.choose_snapshots(session, [], date(2026, 3, 15)) == (march, None)
    assert changes.choose_snapshots(session, [], date(2026, 3, 15), date(2026, 4, 2)) == (
        march,
        april,
    )
    assert changes.choose_snapshots(session, [], from_id=march.id, to_id=april.id) == (
        march,
        april,
    )


@pytest.mark.parametrize(
    ("arguments", "error", "field"),
    [
        ({}, Invalid, "from"),
        ({"from_day": "2026-01-01"}, NotFound, "from"),
        ({"from_day": "2026-03-15", "to_day": "2026-02-01"}, NotFound, "to"),
        ({"from_id": 999_999}, NotFound, "from_snapshot"),
        ({"from_id": "april", "to_id": "march"}, Invalid, "to_snapshot"),
        ({"from_id": "march", "to_id": "filtered"}, Invalid, "to_snapshot"),
        ({"from_day": "2026-03-15", "la_codes": ["E08000001"]}, NotFound, "from"),
    ],
)
def test_a_side_that_cannot_be_chosen_is_an_error_naming_it(session, arguments, error, field):
    arguments = dict(arguments)
    make_wards(session, {"E05000001": ("Only", box(-2.2, 53.4, -2.1, 53.5))})
    taken = {
        "march": snapshots.take_snapshot(session, "March", as_of=date(2026, 3, 1)),
        "april": snapshots.take_snapshot(session, "April", as_of=date(2026, 4, 1)),
        "filtered": snapshots.take_snapshot(
            session, "Food", categories=["food-support"], as_of=date(2026, 4, 2)
        ),
    }
    for key in ("from_day", "to_day"):
        if key in arguments:
            arguments[key] = date.fromisoformat(arguments[key])
    for key in ("from_id", "to_id"):
        if isinstance(arguments.get(key), str):
            arguments[key] = taken[arguments[key]].id
    with pytest.raises(error) as raised:
        changes.choose_snapshots(session, **arguments)
    assert field in raised.value.fields


def test_a_ward_filter_keeps_the_later_wards_drawing_on_a_named_earlier_ward(app, session, geodata):
    before, after = trafford_across_boundary_change(app, session, geodata)
    # Decisions on the 2017 ward Altrincham (E05000819) are followed onto the 2023 wards.
    frame = changes.compute_changes(session, before, after, [TRAFFORD], ["E05000819"])
    assert "E05015239" in set(frame["ward_code"])  # Altrincham, 2023
    assert 1 <= len(frame) < 21
    assert all(any(c.startswith("E05000819:") for c in row) for row in frame["converted_from"])
