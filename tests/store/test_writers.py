"""Concurrent writers: on SQLite they queue for the write lock instead of being refused."""

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from mapper.core import imports
from mapper.store import db, scratch
from mapper.store.models import CommunityGroup
from tests.factories import make_group


def test_a_use_case_that_read_first_still_writes_after_another_commit(app, session):
    group = make_group(session, "Choir", (-2.05, 53.45))
    other = app.extensions["mapper.db"].Session()
    # This session reads first: on SQLite its snapshot predates the other's commit below.
    assert session.scalar(select(CommunityGroup.name).where(CommunityGroup.id == group.id))
    with db.transaction(other):
        other.get(CommunityGroup, group.id).description = "written by the other"
    with db.transaction(session):
        session.get(CommunityGroup, group.id).meeting_times = "Tuesdays"
    other.close()
    session.expire_all()
    stored = session.get(CommunityGroup, group.id)
    assert (stored.description, stored.meeting_times) == ("written by the other", "Tuesdays")


def raw_write(app):
    """Write from a connection of its own that does not wait at all for the lock."""
    path = make_url(app.config["DATABASE_URL"]).database
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("UPDATE categories SET name = name WHERE slug = 'faith'")
        return "written"
    except sqlite3.OperationalError as error:
        return str(error)
    finally:
        conn.close()


@pytest.mark.parametrize("database_url", ["spatialite"], indirect=True)
def test_a_write_transaction_holds_the_lock_from_its_start(app, session):
    with db.transaction(session):
        session.execute(select(CommunityGroup.id)).all()
        assert raw_write(app) == "database is locked"
    assert raw_write(app) == "written"


@pytest.mark.parametrize("database_url", ["spatialite"], indirect=True)
def test_a_dry_run_import_takes_no_write_lock_before_it_writes(app, session):
    class Reading:
        source = "groups.csv"

        def values(self):
            return []

    seen = []

    def save(session_, rows, progress):
        session_.execute(text("SELECT count(*) FROM community_groups")).scalar()
        seen.append(raw_write(app))
        return 0, 0, 0, []

    imports.run_import(session, Reading(), save, write=False, lock="community_groups")
    assert seen == ["written"]
    imports.run_import(session, Reading(), save, write=True, lock="community_groups")
    assert seen == ["written", "database is locked"]


@pytest.mark.parametrize("database_url", ["spatialite"], indirect=True)
@pytest.mark.parametrize(
    ("apart", "other_writer"), [(True, "written"), (False, "database is locked")]
)
def test_a_dry_run_apart_writes_into_a_copy_and_leaves_the_lock_to_others(
    app, session, apart, other_writer
):
    class Reading:
        source = "categories.csv"

        def values(self):
            return [{"slug": "dry-run", "name": "Dry run"}]

    seen = []

    def save(session_, rows, progress):
        session_.execute(text("INSERT INTO categories (slug, name) VALUES ('dry-run', 'Dry')"))
        seen.append(session_.scalar(text("SELECT count(*) FROM categories WHERE slug = 'dry-run'")))
        seen.append(raw_write(app))  # while the dry run's INSERT is not rolled back yet
        return 1, 0, 0, []

    outcome = imports.run_import(session, Reading(), save, write=False, apart=apart)
    assert (outcome.added, seen) == (1, [1, other_writer])
    folder = Path(make_url(app.config["DATABASE_URL"]).database).parent
    assert not list(folder.glob(".dry-run-*"))  # the copy is gone
    assert session.scalar(text("SELECT count(*) FROM categories WHERE slug = 'dry-run'")) == 0


@pytest.mark.parametrize("database_url", ["spatialite"], indirect=True)
def test_a_dry_run_copy_is_taken_while_another_writer_holds_the_lock(app, session):
    holder = sqlite3.connect(make_url(app.config["DATABASE_URL"]).database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE categories SET name = 'Faith (held)' WHERE slug = 'faith'")
    try:
        with scratch.dry_run_session(session) as copy:
            names = copy.scalars(text("SELECT name FROM categories WHERE slug = 'faith'")).all()
    finally:
        holder.execute("COMMIT")
        holder.close()
    assert names == ["Faith"]  # the last committed state, read without waiting for the writer
