"""Bulk inserts below the ORM (store/bulk.py): what they store is what SQLAlchemy would."""

import datetime

import numpy as np
import shapely
from geoalchemy2.shape import to_shape
from geoalchemy2.types.dialects import sqlite as geoalchemy_sqlite
from sqlalchemy import func, select, text

from mapper.store import bulk, db, version
from mapper.store.db import reserve_ids, to_wkb_element
from mapper.store.models import AuditEvent, CommunityGroup
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
    point = shapely.Point(-2.123456789, 53.400000051)
    (bulk_id,) = reserve_ids(session, CommunityGroup.__table__, 1)
    row = {"id": bulk_id, "name": "Bulk choir", "status": "active", "geom": point}
    bulk.insert_rows(session, CommunityGroup.__table__, [row])
    orm = make_group(session, "Choir", (point.x, point.y))
    session.commit()
    box = (-2.2, 53.3, -2.1, 53.5)
    clause = db.bbox_filter(CommunityGroup.geom, box, session)
    assert set(session.scalars(select(CommunityGroup.id).where(clause))) == {bulk_id, orm.id}
    if backend == "spatialite":
        entries = "SELECT xmin, xmax, ymin, ymax FROM idx_community_groups_geom WHERE pkid = :id"
        bounds = [session.execute(text(entries), {"id": i}).one() for i in (bulk_id, orm.id)]
        assert bounds[0] == bounds[1]
        trigger = "SELECT count(*) FROM sqlite_master WHERE name = 'gii_community_groups_geom'"
        assert session.scalar(text(trigger)) == 1
