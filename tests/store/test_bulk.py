"""Bulk inserts below the ORM (store/bulk.py): what they store is what SQLAlchemy would."""

import datetime

import numpy as np
import pytest
import shapely
from geoalchemy2.shape import to_shape
from geoalchemy2.types.dialects import sqlite as geoalchemy_sqlite
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from mapper.store import bulk, db, version
from mapper.store.db import reserve_ids, to_wkb_element
from mapper.store.models import AuditEvent, CommunityGroup, group_categories
from tests.factories import make_group


def test_geometries_are_bound_as_geoalchemy_binds_them_on_both_backends():
    rng = np.random.default_rng(5)
    points = list(shapely.points(rng.uniform(-8, 2, 200), rng.uniform(49, 61, 200)))
    shapes = [*points, shapely.box(-2.123456789, 53.1, -2.0, 53.2), None]
    column = CommunityGroup.__table__.c.geom.type
    elements = [None if g is None else to_wkb_element(g) for g in shapes]
    bind = geoalchemy_sqlite.bind_processor_process
    expected = [None if e is None else bind(column, e) for e in elements]
    assert bulk.geometry_values(shapes, postgres=False) == expected
    hexes = bulk.geometry_values(shapes, postgres=True)
    assert [h and h.lower() for h in hexes] == [e and e.desc for e in elements]


def test_rows_are_written_in_the_session_transaction_with_the_column_defaults(session):
    before = version.current(session)
    session.commit()

    def write():
        (group_id,) = reserve_ids(session, CommunityGroup.__table__, 1)
        row = {"id": group_id, "name": "Bulk choir", "geom": shapely.Point(-2.123456789, 53.4)}
        bulk.insert_rows(session, CommunityGroup.__table__, [{**row, "active_from": None}])
        event = {"action": "create", "entity_type": "community_groups", "entity_id": group_id}
        bulk.insert_rows(session, AuditEvent.__table__, [{**event, "changes": {"source": "x"}}])
        return group_id

    write()
    session.rollback()
    assert session.scalar(select(func.count()).select_from(CommunityGroup)) == 0
    group = session.get(CommunityGroup, write())
    session.commit()
    assert (group.status, group.location_precision) == ("pending", "exact")
    assert to_shape(group.geom).equals(shapely.Point(-2.1234568, 53.4))
    assert group.created_at.date() == datetime.datetime.now(datetime.UTC).date()
    event = session.scalar(select(AuditEvent).where(AuditEvent.entity_id == group.id))
    assert event.changes == {"source": "x"} and event.at is not None
    assert version.current(session) == before + 1


def test_the_spatial_index_holds_bulk_rows_as_spatialites_trigger_puts_them(session, backend):
    rng = np.random.default_rng(11)
    points = [shapely.Point(-2.123456789, 53.400000051)] + list(
        shapely.points(rng.uniform(-2.2, -2.1, 40), rng.uniform(53.3, 53.5, 40))
    )
    ids = reserve_ids(session, CommunityGroup.__table__, len(points))
    rows = [
        {"id": i, "name": "Bulk choir", "status": "active", "geom": p}
        for i, p in zip(ids, points, strict=True)
    ]
    bulk.insert_rows(session, CommunityGroup.__table__, rows)
    orm = [make_group(session, "Choir", (p.x, p.y)) for p in points]
    session.commit()
    box = (-2.2, 53.3, -2.1, 53.5)
    clause = db.bbox_filter(CommunityGroup.geom, box, session)
    found = set(session.scalars(select(CommunityGroup.id).where(clause)))
    assert found == {*ids, *(group.id for group in orm)}
    if backend == "spatialite":
        entries = "SELECT xmin, xmax, ymin, ymax FROM idx_community_groups_geom WHERE pkid = :id"
        for bulk_id, group in zip(ids, orm, strict=True):
            bounds = [session.execute(text(entries), {"id": i}).one() for i in (bulk_id, group.id)]
            assert bounds[0] == bounds[1]
        trigger = "SELECT count(*) FROM sqlite_master WHERE name = 'gii_community_groups_geom'"
        assert session.scalar(text(trigger)) == 1


def test_what_spatialites_row_triggers_do_is_done_for_bulk_rows_too(session, backend):
    """The category mask of a group whose links are inserted in bulk is set as the link
    trigger sets it; a geometry of the wrong type is refused as the constraint trigger
    refuses it (and PostGIS's COPY refuses it with SQLAlchemy's error,
    which an import turns into its refusal); every trigger is in place afterwards."""
    triggers = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
    before = session.scalar(text(triggers)) if backend == "spatialite" else None
    first, second = reserve_ids(session, CommunityGroup.__table__, 2)
    point = shapely.Point(-2.3, 53.4)
    rows = [{"id": i, "name": f"Group {i}", "geom": point} for i in (first, second)]
    bulk.insert_rows(session, CommunityGroup.__table__, rows)
    links = [(first, 1), (first, 3), (second, 2)]
    bulk.insert_rows(
        session, group_categories, [{"group_id": g, "category_id": c} for g, c in links]
    )
    masks = select(CommunityGroup.id, CommunityGroup.category_mask).order_by(CommunityGroup.id)
    assert session.execute(masks).all() == [(first, 0b1010), (second, 0b100)]
    session.commit()
    if backend == "spatialite":
        assert session.scalar(text(triggers)) == before
        last = (
            "SELECT last_insert FROM geometry_columns_time WHERE f_table_name = 'community_groups'"
        )
        assert session.scalar(text(last)).startswith(str(datetime.date.today().year))
    (third,) = reserve_ids(session, CommunityGroup.__table__, 1)
    wrong = {"id": third, "name": "Area", "geom": shapely.box(-2.3, 53.4, -2.2, 53.5)}
    with pytest.raises(DBAPIError, match="(?i)geometry"):
        bulk.insert_rows(session, CommunityGroup.__table__, [wrong])
    session.rollback()
    assert session.scalar(select(func.count()).select_from(CommunityGroup)) == 2
    if backend == "spatialite":
        assert session.scalar(text(triggers)) == before


def index_definitions(session, table):
    """Return {name: definition} of a table's indexes and (PostGIS) foreign keys."""
    if db.is_spatialite(session):
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
    else:
        query = (
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t UNION ALL "
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST(:t AS regclass) AND contype = 'f'"
        )
    return dict(session.execute(text(query), {"t": table}).all())


def test_a_load_that_doubles_a_table_builds_its_indexes_after_it(session, backend, monkeypatch):
    table = CommunityGroup.__table__
    before = index_definitions(session, table.name)
    assert "ix_community_groups_ward_counts" in before
    monkeypatch.setattr(bulk, "BULK_INDEX_ROWS", 10)
    make_group(session, "Choir", (-2.3, 53.4))
    with bulk.indexes_deferred(session, table, 1):  # does not double it: all stay
        assert index_definitions(session, table.name) == before
    links = index_definitions(session, "group_categories")
    with bulk.indexes_deferred(session, table, 10, ("external_id",), [group_categories]):
        during = index_definitions(session, table.name)
        assert "ix_community_groups_external_id" in during
        assert "ix_community_groups_ward_counts" not in during
        assert "ix_community_groups_status_kind" not in during
        if backend == "postgis":  # the links' foreign keys are checked after, at once
            assert "group_categories_group_id_fkey" in links
            assert index_definitions(session, "group_categories").keys() == {
                "group_categories_pkey"
            }
    assert index_definitions(session, table.name) == before
    assert index_definitions(session, "group_categories") == links
    with pytest.raises(RuntimeError), bulk.indexes_deferred(session, table, 10):
        raise RuntimeError("the load fails")
    session.rollback()  # the drop is undone with the rest of the load
    assert index_definitions(session, table.name) == before


def test_text_with_tabs_new_lines_and_backslashes_is_stored_as_given(session):
    awkward = "Tab\there, new\nline, CR\r, back\\slash \\N, café \u2603"
    (group_id,) = reserve_ids(session, CommunityGroup.__table__, 1)
    row = {"id": group_id, "name": awkward, "geom": shapely.Point(-2.3, 53.4)}
    bulk.insert_rows(session, CommunityGroup.__table__, [{**row, "description": None}])
    changes = {"note": awkward, "count": 3, "nested": [1.5, None, True]}
    event = {"action": "create", "entity_type": "x", "entity_id": group_id, "reason": awkward}
    bulk.insert_rows(session, AuditEvent.__table__, [{**event, "changes": changes}])
    session.commit()
    group = session.get(CommunityGroup, group_id)
    assert (group.name, group.description) == (awkward, None)
    stored = session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "x"))
    assert (stored.changes, stored.reason) == (changes, awkward)
