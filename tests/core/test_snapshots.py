"""Snapshots (mapper.core.snapshots): stored as computed, immutable, generic, deduplicated."""

import threading
import zlib
from datetime import date

import pytest
from shapely.geometry import MultiPolygon, box
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from mapper.core import analysis, groups, snapshots
from mapper.errors import Invalid
from mapper.io import exports
from mapper.store import db
from mapper.store.evidence import Snapshot, SnapshotPart, SnapshotShape
from mapper.store.models import Coordinator
from tests.conftest import make_app
from tests.factories import make_group, make_user, make_wards, two_wards


def borough(session):
    """Two wards of one authority, one of another, and groups in two of them."""
    two_wards(session)
    make_wards(session, {"E05000009": ("Far Away", box(0.0, 51.0, 0.1, 51.1))}, la_code="E08000098")
    make_group(session, "Knit and Natter", (-2.05, 53.45), categories=["social-befriending"])
    make_group(session, "Food Share", (-1.95, 53.45), categories=["food-support"])
    make_group(session, "Dog Walkers", (0.05, 51.05), categories=["physical-activity"])


def stored_records(session, snapshot):
    _columns, rows, _shapes = snapshots.snapshot_records(session, snapshot)
    return rows


def test_a_snapshot_stores_every_row_and_property_the_analysis_computed(session):
    borough(session)
    live = analysis.compute_gaps(session)
    snapshot = snapshots.take_snapshot(session, "Before the review")
    assert stored_records(session, snapshot) == exports.gap_records(live)
    assert snapshot.columns == exports.gap_columns(live)
    assert snapshot.ward_count == 3 and snapshot.kind == "manual"
    assert snapshot.method_version == analysis.METHOD_VERSION
    assert snapshot.reference_date == date.today()
    assert snapshot.boundary_vintage == "2024"
    assert [p.la_code for p in snapshot.parts] == ["E08000098", "E08000099"]
    frame = snapshots.snapshot_frame(session, snapshot)
    assert [g.equals(h) for g, h in zip(frame.geometry, live.geometry, strict=True)] == [True] * 3
    metadata = frame.attrs["metadata"]
    assert metadata["snapshot"]["id"] == snapshot.id
    assert metadata["parameters"] == live.attrs["metadata"]["parameters"]


def test_a_snapshot_keeps_its_figures_after_the_data_moves_on(session):
    borough(session)
    snapshot = snapshots.take_snapshot(session, "Then", ["E08000099"])
    before = stored_records(session, snapshot)
    for i in range(4):
        make_group(session, f"New group {i}", (-2.09 + i / 100, 53.41))
    session.expire_all()
    assert stored_records(session, snapshot) == before
    assert sum(r["groups"] for r in before) == 2
    assert analysis.compute_gaps(session, la_codes=["E08000099"])["groups"].sum() == 6


def test_the_database_refuses_to_change_a_stored_snapshot(session):
    borough(session)
    snapshot = snapshots.take_snapshot(session, "Fixed")
    for statement in (
        "UPDATE snapshots SET label = 'Changed'",
        "UPDATE snapshot_parts SET ward_count = 99",
        "UPDATE snapshot_shapes SET digest = 'x'",
    ):
        with pytest.raises(DatabaseError, match="immutable"):
            session.execute(text(statement))
        session.rollback()
    assert session.get(Snapshot, snapshot.id).label == "Fixed"


def test_a_property_added_to_the_analysis_flows_into_snapshots_without_a_schema_change(session):
    borough(session)
    frame = analysis.compute_gaps(session)
    frame["need_score"] = [0.25, 0.5, None]
    with db.transaction(session):
        snapshot = snapshots.store_snapshot(session, frame, "With a need score")
    assert snapshot.columns[-1] == "need_score"
    rows = stored_records(session, snapshot)
    assert {r["ward_code"]: r["need_score"] for r in rows} == {
        "E05000001": 0.25,
        "E05000002": 0.5,
        "E05000009": None,
    }


def test_a_snapshot_keeps_reach_and_one_taken_before_reach_still_reads_back(session):
    borough(session)
    frame = analysis.compute_gaps(session)
    with db.transaction(session):
        today = snapshots.store_snapshot(session, frame, "With reach")
        old = snapshots.store_snapshot(
            session, frame.drop(columns=[c for c in frame if c.startswith("reach_")]), "Older"
        )
    assert "reach_food_support" in today.columns and "reach_core" in today.columns
    assert [r["reach_core"] for r in stored_records(session, today)] == list(frame["reach_core"])
    assert not any(c.startswith("reach_") for c in old.columns)
    back = snapshots.snapshot_frame(session, old)
    assert len(back) == 3 and "reach_core" not in back.columns
    for extension in ("geojson", "csv"):
        assert exports.write_gaps(back, extension, "")[0]


def test_the_method_version_stored_is_the_one_that_computed_the_rows(session):
    borough(session)
    frame = analysis.compute_gaps(session)
    frame.attrs["metadata"]["method_version"] = "0.9"
    with db.transaction(session):
        snapshot = snapshots.store_snapshot(session, frame, "Old method")
    assert snapshot.method_version == "0.9" != analysis.METHOD_VERSION
    metadata = snapshots.snapshot_frame(session, snapshot).attrs["metadata"]
    assert metadata["method_version"] == "0.9"


def test_each_ward_shape_is_stored_once_however_many_snapshots_use_it(session):
    borough(session)
    for label in ("January", "February", "March"):
        snapshots.take_snapshot(session, label)
    assert session.scalar(select(func.count()).select_from(SnapshotShape)) == 3
    snapshots.take_snapshot(session, "One authority", ["E08000099"])
    assert session.scalar(select(func.count()).select_from(SnapshotShape)) == 3


def test_personal_data_and_unapproved_groups_never_enter_a_snapshot(session):
    borough(session)
    session.add(
        Coordinator(
            name="Alice Secretname",
            email="alice.secret@council.example",
            phone="0161 496 0000",
            patch=db.to_wkb_element(MultiPolygon([box(-2.1, 53.4, -2.0, 53.5)])),
        )
    )
    session.commit()
    editor = make_user(session, "hidden.editor@lio.example")
    groups.register_group(
        session,
        editor,
        {"name": "Unapproved Quillfeather", "categories": ["faith"], "lon": -2.05, "lat": 53.45},
    )
    snapshot = snapshots.take_snapshot(session, "Private")
    stored = " ".join(
        zlib.decompress(part).decode()
        for part in session.scalars(
            select(SnapshotPart.rows).where(SnapshotPart.snapshot_id == snapshot.id)
        )
    )
    stored += str(snapshot.details) + snapshot.label
    for secret in ("Alice Secretname", "alice.secret", "0161 496", "hidden.editor", "Quillfeather"):
        assert secret not in stored
    assert '"coordinator_coverage"' not in stored  # rows are lists: the names are the columns
    assert "coordinator_coverage" in snapshot.columns


@pytest.mark.parametrize(
    ("arguments", "error", "field"),
    [
        ({"la_codes": ["E08000001"]}, analysis.UnknownValues, None),
        ({"categories": ["no-such-slug"]}, analysis.UnknownValues, None),
        ({"label": "x" * 201}, Invalid, "label"),
    ],
)
def test_a_snapshot_of_bad_arguments_is_refused_and_stores_nothing(
    session, arguments, error, field
):
    borough(session)
    with pytest.raises(error) as raised:
        snapshots.take_snapshot(session, **arguments)
    if field:
        assert field in raised.value.fields
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Snapshot)) == 0
    assert session.scalar(select(func.count()).select_from(SnapshotShape)) == 0


def test_a_snapshot_of_no_wards_is_refused(session):
    with pytest.raises(Invalid, match="no current wards"):
        snapshots.take_snapshot(session, "Empty")


def test_a_monthly_snapshot_is_taken_once_a_month_however_often_cron_runs(session):
    borough(session)
    first = snapshots.take_monthly(session, ["E08000099"])
    assert first is not None and first.kind == "scheduled"
    assert first.label == f"Monthly snapshot {date.today():%Y-%m} of E08000099"
    assert snapshots.take_monthly(session, ["E08000099"]) is None
    # another scope is another series
    assert snapshots.take_monthly(session, []) is not None
    assert snapshots.take_monthly(session, []) is None


def test_backfill_reconstructs_past_months_from_activity_dates_where_the_data_allows(session):
    two_wards(session)
    make_group(session, "Old", (-2.05, 53.45), active_from=date(2025, 1, 10))
    make_group(session, "Newer", (-1.95, 53.45), active_from=date(2025, 3, 5))
    closed = make_group(session, "Closed", (-1.95, 53.46), active_from=date(2025, 1, 1))
    closed.status, closed.active_until = "closed", date(2025, 2, 15)
    session.commit()
    taken, skipped = snapshots.backfill(
        session, date(2024, 12, 1), date(2025, 4, 1), today=date(2025, 6, 1)
    )
    assert [s.reference_date for s in taken] == [date(2025, m, 1) for m in (1, 2, 3, 4)]
    assert skipped == [(date(2024, 12, 1), "before the first activity date, 2025-01-01")]
    totals = [sum(r["groups"] for r in stored_records(session, s)) for s in taken]
    assert totals == [1, 2, 1, 2]  # Closed; Old + Closed; Old; Old + Newer
    assert {s.kind for s in taken} == {"reconstructed"}
    assert "Reconstructed from activity dates" in taken[0].details["reconstructed"]
    # Running it again reconstructs nothing twice.
    again, skipped = snapshots.backfill(
        session, date(2025, 2, 1), date(2025, 5, 1), today=date(2025, 6, 1)
    )
    assert [s.reference_date for s in again] == [date(2025, 5, 1)]
    assert [reason for _, reason in skipped] == ["already reconstructed"] * 3
    # Nothing after today: the future cannot be reconstructed.
    future, _ = snapshots.backfill(
        session, date(2025, 6, 1), date(2026, 1, 1), today=date(2025, 6, 1)
    )
    assert [s.reference_date for s in future] == [date(2025, 6, 1)]


def test_the_snapshot_of_a_day_is_the_latest_describing_it_taken_before_reconstructed(session):
    borough(session)
    march = snapshots.take_snapshot(session, "March", as_of=date(2026, 3, 1), kind="reconstructed")
    april = snapshots.take_snapshot(session, "April", as_of=date(2026, 4, 1), kind="reconstructed")
    snapshots.take_snapshot(
        session, "Filtered", categories=["food-support"], as_of=date(2026, 4, 2)
    )
    assert snapshots.snapshot_on(session, date(2026, 3, 31)).id == march.id
    assert snapshots.snapshot_on(session, date(2026, 4, 30)).id == april.id
    assert snapshots.snapshot_on(session, date(2026, 2, 1)) is None
    local = snapshots.take_snapshot(session, "Local", ["E08000099"], as_of=date(2026, 4, 1))
    assert snapshots.snapshot_on(session, date(2026, 4, 1), ["E08000099"]).id == local.id
    assert snapshots.snapshot_on(session, date(2026, 4, 1)).id == april.id  # every ward
    taken = snapshots.take_snapshot(session, "Taken", as_of=date(2026, 4, 1))
    assert snapshots.snapshot_on(session, date(2026, 4, 1)).id == taken.id


def test_two_administrators_taking_snapshots_at_once_both_succeed(database_url, app, session):
    borough(session)
    barrier, results, errors = threading.Barrier(2), [], []

    def take(label):
        other = make_app(database_url)
        try:
            with other.app_context():
                barrier.wait()
                results.append(snapshots.take_snapshot(db.get_session(), label).id)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            other.extensions["mapper.db"].dispose()

    threads = [threading.Thread(target=take, args=(f"At once {i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(set(results)) == 2
    assert session.scalar(select(func.count()).select_from(SnapshotShape)) == 3
