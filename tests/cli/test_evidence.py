"""The evidence commands: mapper snapshot, backfill-snapshots and list-snapshots."""

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mapper.core import analysis
from mapper.store.evidence import Snapshot
from tests.factories import make_group, two_wards

MAPPER = str(Path(sys.executable).parent / "mapper")


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


def count(session):
    session.rollback()
    return session.scalar(select(func.count()).select_from(Snapshot))


def test_mapper_snapshot_stores_one_and_prints_its_id_last(session, database_url):
    two_wards(session)
    make_group(session, "Club", (-2.05, 53.45))
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url}
    result = subprocess.run(
        [MAPPER, "snapshot", "--la", "E08000099", "--label", "2026 annual review"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    snapshot = session.get(Snapshot, int(result.stdout.strip().splitlines()[-1]))
    assert snapshot.label == "2026 annual review" and snapshot.scope == "E08000099"
    assert "2 wards" in result.stderr and f"method {analysis.METHOD_VERSION}" in result.stderr
    listing = subprocess.run(
        [MAPPER, "list-snapshots"], capture_output=True, text=True, env=env, timeout=120
    )
    assert f"snapshot {snapshot.id}: 2026 annual review" in listing.stdout


def test_mapper_snapshot_monthly_is_safe_to_run_every_day(app, session):
    two_wards(session)
    first = invoke(app, "snapshot", "--monthly")
    assert first.exit_code == 0, first.output
    again = invoke(app, "snapshot", "--monthly")
    assert again.exit_code == 0 and "already stored" in again.output
    assert count(session) == 1
    assert session.scalars(select(Snapshot.kind)).all() == ["scheduled"]


def test_backfill_snapshots_reconstructs_a_monthly_series(app, session):
    two_wards(session)
    make_group(session, "Club", (-2.05, 53.45), active_from=date(2025, 3, 15))
    result = invoke(app, "backfill-snapshots", "--from", "2025-01", "--to", "2025-06")
    assert result.exit_code == 0, result.output
    assert "2025-01: skipped, before the first activity date, 2025-03-15" in result.output
    assert "3 reconstructed, 3 skipped" in result.output
    session.rollback()
    days = session.scalars(select(Snapshot.reference_date).order_by(Snapshot.reference_date))
    assert list(days) == [date(2025, m, 1) for m in (4, 5, 6)]


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["snapshot", "--la", "Trafford"], "--la"),
        (["snapshot", "--la", "E08000001"], "--la"),
        (["snapshot", "--category", "knitting"], "--category"),
        (["snapshot", "--label", "x" * 201], "--label"),
        (["backfill-snapshots", "--from", "2025"], "--from"),
        (["backfill-snapshots", "--from", "2025-06", "--to", "2025-01"], "--to"),
    ],
)
def test_a_bad_option_is_named_and_nothing_is_stored(app, session, args, option):
    two_wards(session)
    make_group(session, "Club", (-2.05, 53.45), active_from=date(2025, 3, 15))
    result = invoke(app, *args)
    assert result.exit_code == 2, result.output
    assert option in result.output
    assert count(session) == 0
