"""`mapper backup` and `mapper restore` on both backends: after the round trip every table's
count and the gap analysis are what they were, whatever changed in between."""

import pytest
from sqlalchemy import func, select, text, update

from mapper.core import analysis
from mapper.store import db, version
from mapper.store.models import (
    AuditEvent,
    Category,
    CommunityGroup,
    Coordinator,
    Organisation,
    Postcode,
    Service,
    Ward,
)

MODELS = (Ward, CommunityGroup, Service, Coordinator, Postcode, Category, Organisation, AuditEvent)
pytestmark = pytest.mark.slow


def figures(app):
    """Return (count of each table, the gap analysis as rows as JSON would write them, the
    ward shapes) of the app's database."""
    with app.app_context():
        session = db.get_session()
        counts = {
            m.__tablename__: session.scalar(select(func.count()).select_from(m)) for m in MODELS
        }
        gaps = analysis.compute_gaps(session)
        rows = gaps.drop(columns="geometry").to_json(orient="records")  # NaN as null
        shapes = [shape.wkb_hex for shape in gaps.geometry]
        session.close()
    return counts, rows, shapes


def invoke(app, *args):
    """Run a `mapper` command against the app; return the result."""
    return app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)


def test_a_restored_backup_has_the_same_counts_and_gap_analysis(app, tmp_path):
    assert invoke(app, "demo").exit_code == 0
    before = figures(app)
    assert before[0]["community_groups"] > 0 and "E05999001" in before[1]
    copy = tmp_path / "mapper.backup"
    result = invoke(app, "backup", str(copy))
    assert result.exit_code == 0, result.output
    assert "Backed up" in result.output and copy.stat().st_size > 0

    with app.app_context():  # the data moves on after the backup
        session = db.get_session()
        with db.transaction(session):
            session.execute(update(CommunityGroup).values(status="closed"))
            session.execute(Postcode.__table__.delete())
    assert figures(app) != before
    with app.app_context():
        moved_on = version.current(db.get_session())

    result = invoke(app, "restore", "--yes", str(copy))
    assert result.exit_code == 0, result.output
    assert "Restored" in result.output
    assert figures(app) == before
    with app.app_context():  # newer than any version before, and journalled as "anything"
        session = db.get_session()
        assert version.current(session) == moved_on + 1
        assert version.changes_between(session, moved_on, moved_on + 1) is None


def test_a_backup_is_consistent_while_a_write_is_under_way(app, tmp_path):
    assert invoke(app, "demo").exit_code == 0
    before = figures(app)
    engine = app.extensions["mapper.db"].engine
    with engine.connect() as writer:  # an uncommitted write, open during the backup
        writer.execute(text("UPDATE community_groups SET status = 'closed'"))
        result = invoke(app, "backup", str(tmp_path / "during.backup"))
        writer.rollback()
    assert result.exit_code == 0, result.output
    invoke(app, "restore", "--yes", str(tmp_path / "during.backup"))
    assert figures(app) == before


def test_backup_will_not_replace_a_file_unless_forced(app, tmp_path):
    existing = tmp_path / "old.backup"
    existing.write_text("keep me")
    result = invoke(app, "backup", str(existing))
    assert result.exit_code != 0 and "exists" in result.output
    assert existing.read_text() == "keep me"
    assert invoke(app, "backup", "--force", str(existing)).exit_code == 0
    assert existing.read_text(errors="replace") != "keep me"


def test_restore_refuses_a_file_that_is_not_a_backup_and_changes_nothing(app, tmp_path):
    assert invoke(app, "demo").exit_code == 0
    before = figures(app)
    wrong = tmp_path / "groups.csv"
    wrong.write_text("name,lon,lat\nA,-1,53\n")
    result = invoke(app, "restore", "--yes", str(wrong))
    assert result.exit_code != 0
    assert "groups.csv is not a backup this program made" in result.output
    assert figures(app) == before


def test_restore_refuses_a_backup_of_the_other_backend(app, backend, tmp_path):
    other = tmp_path / "other.backup"
    other.write_bytes(b"PGDMP\x01" if backend == "spatialite" else b"SQLite format 3\x00")
    result = invoke(app, "restore", "--yes", str(other))
    assert result.exit_code != 0
    expected = "a PostgreSQL dump" if backend == "spatialite" else "a SpatiaLite (SQLite) backup"
    assert f"other.backup is {expected}" in result.output
