from geoalchemy2.shape import to_shape
from shapely.geometry import Point
from sqlalchemy import func, select

from mapper.core import records, wards
from mapper.store import db
from mapper.store.models import AuditEvent, CommunityGroup
from tests.factories import make_group, make_service, two_wards


def test_group_ward_is_derived_from_its_location(session):
    wards = two_wards(session)
    group = make_group(session, "Allotment Society", (-2.05, 53.45))
    assert group.ward_id == wards["E05000002"].id


def test_service_ward_is_derived_from_its_location(session):
    wards = two_wards(session)
    service = make_service(session, "Food bank", (-1.95, 53.45))
    assert service.ward_id == wards["E05000001"].id


def test_moving_a_group_derives_its_ward_again(session):
    wards = two_wards(session)
    group = make_group(session, "Walking Group", (-2.05, 53.45))
    group.geom = db.to_wkb_element(Point(-1.95, 53.45))
    session.commit()
    assert group.ward_id == wards["E05000001"].id


def test_a_typed_in_ward_is_overwritten_by_the_derived_one(session):
    wards = two_wards(session)
    group = make_group(session, "Choir", (-2.05, 53.45), ward_id=wards["E05000001"].id)
    assert group.ward_id == wards["E05000002"].id


def test_point_on_shared_boundary_belongs_to_exactly_one_ward(session):
    wards = two_wards(session)
    on_edge = make_group(session, "Edge Club", (-2.0, 53.45))
    on_corner = make_group(session, "Corner Club", (-2.0, 53.5))
    # The documented rule: the ward with the lowest ONS code.
    assert on_edge.ward_id == wards["E05000001"].id
    assert on_corner.ward_id == wards["E05000001"].id


def test_point_outside_every_ward_has_no_ward(session):
    two_wards(session)
    assert make_group(session, "Far away", (0.5, 51.5)).ward_id is None
    assert wards.find_ward(session, (0.5, 51.5)) is None


def test_find_ward_answers_the_ward_of_a_lonlat(session):
    made = two_wards(session)
    assert wards.find_ward(session, (-1.95, 53.41)).code == "E05000001"
    assert wards.find_ward(session, (-2.05, 53.41)) == made["E05000002"]


def test_geometry_is_stored_in_wgs84(session):
    two_wards(session)
    group = make_group(session, "Knit and Natter", (-2.05, 53.45))
    session.expire_all()
    stored = session.get(CommunityGroup, group.id)
    assert to_shape(stored.geom).equals(Point(-2.05, 53.45))


def test_saving_located_records_twice_updates_rather_than_duplicates(session):
    two_wards(session)
    rows = [
        {
            "external_id": "X1",
            "name": "Repair Café",
            "status": "active",
            "geom": Point(-2.05, 53.45),
            "categories": ["employment-skills"],
        }
    ]
    assert records.save_located(session, CommunityGroup, rows) == (1, 0)
    session.commit()
    assert records.save_located(session, CommunityGroup, rows) == (0, 0)
    rows[0]["name"] = "Repair Cafe"
    assert records.save_located(session, CommunityGroup, rows) == (0, 1)
    session.commit()
    assert session.scalar(select(CommunityGroup.name)) == "Repair Cafe"
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["create", "update"]


def test_records_without_an_external_id_match_on_name_within_a_few_metres(session):
    two_wards(session)
    row = {"name": "Knit and Natter", "status": "active", "geom": Point(-2.05, 53.45)}
    assert records.save_located(session, CommunityGroup, [row]) == (1, 0)
    nearby = {**row, "geom": Point(-2.05, 53.45002)}  # about 2 m north
    assert records.save_located(session, CommunityGroup, [nearby]) == (0, 1)
    elsewhere = {**row, "geom": Point(-2.05, 53.4505)}  # about 55 m north: another group
    assert records.save_located(session, CommunityGroup, [elsewhere]) == (1, 0)
    with_id = {**row, "external_id": "K-1"}  # a record with an id never matches on name
    assert records.save_located(session, CommunityGroup, [with_id]) == (1, 0)
    session.commit()
    assert session.scalar(select(func.count()).select_from(CommunityGroup)) == 3


def test_defaults_apply_only_to_the_records_created(session):
    two_wards(session)
    row = {"external_id": "D-1", "name": "Choir", "geom": Point(-2.05, 53.45)}
    records.save_located(session, CommunityGroup, [row], defaults={"status": "active"})
    group = session.scalar(select(CommunityGroup))
    group.status = "closed"
    session.commit()
    records.save_located(session, CommunityGroup, [row], defaults={"status": "active"})
    assert group.status == "closed"


def test_stored_coordinates_read_back_exactly_so_a_second_save_changes_nothing(session):
    two_wards(session)
    row = {"external_id": "P-1", "name": "Precise", "geom": Point(-2.0512345678912, 53.45)}
    assert records.save_located(session, CommunityGroup, [row]) == (1, 0)
    session.commit()
    session.expire_all()
    assert records.save_located(session, CommunityGroup, [row]) == (0, 0)
    assert to_shape(session.scalar(select(CommunityGroup)).geom).x == -2.0512346
