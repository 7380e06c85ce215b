"""Registering, editing, moderating, closing and verifying groups; the audit trail."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from mapper.core import audit, duplicates, groups
from mapper.errors import Conflict, Forbidden, Invalid
from mapper.store.models import AuditEvent, CommunityGroup, PendingChange, Postcode
from tests.factories import four_users, make_group

WEST = (-2.05, 53.45)  # inside West Ward, E05000002
EAST = (-1.95, 53.45)  # inside East Ward, E05000001


def valid(**changes):
    data = {"name": "Allotment Society", "categories": ["environment-green-space"]}
    data.update(lon=WEST[0], lat=WEST[1])
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def people(session):
    return four_users(session)


def history(session, group):
    return [(e.action, e.user_id) for e in audit.group_history(session, group)]


@pytest.mark.parametrize(
    ("who", "status"), [("editor", "pending"), ("trusted", "active"), ("admin", "active")]
)
def test_who_registers_decides_whether_a_group_waits_for_approval(session, people, who, status):
    user = people[who]
    group, replayed = groups.register_group(session, user, valid())
    assert (group.status, replayed) == (status, False)
    assert group.organisation_id == user.organisation_id and group.created_by_id == user.id
    assert group.ward.code == "E05000002" and group.last_verified == groups.today()
    assert (group.active_from is not None) == (status == "active")
    [event] = audit.group_history(session, group)
    assert (event.action, event.user_id) == ("create", user.id)
    assert event.changes["name"] == {"from": None, "to": "Allotment Society"}
    assert event.changes["status"]["to"] == status


def test_every_field_is_stored(session, people):
    data = valid(
        description="Growing food together",
        categories=["food-support", "environment-green-space"],
        kind="Charity",
        address="Plot 4, Green Lane",
        postcode="ts11aa",
        website="https://allotments.example",
        contact="hello@allotments.example",
        meeting_times="Saturdays 10:00",
        charity_number="1234567",
        wards_served=["e05000001"],
        org_ids=["gb-chc-1234567", "GB-COH-1234567"],
    )
    group, _ = groups.register_group(session, people["trusted"], data)
    assert groups.group_snapshot(group) == {
        "name": "Allotment Society",
        "description": "Growing food together",
        "kind": "charity",
        "address": "Plot 4, Green Lane",
        "website": "https://allotments.example",
        "contact": "hello@allotments.example",
        "meeting_times": "Saturdays 10:00",
        "charity_number": "1234567",
        "postcode": "TS1 1AA",
        "categories": ["environment-green-space", "food-support"],
        "wards_served": ["E05000001"],
        "location_precision": "exact",
        "org_ids": ["GB-CHC-1234567", "GB-COH-01234567"],
        "lonlat": [-2.05, 53.45],  # lon/lat wins over the postcode
    }


def test_a_group_can_be_located_by_postcode_whatever_its_spacing(session, people):
    data = {"name": "Food Bank", "categories": ["food-support"], "postcode": " ts1  1aa "}
    group, _ = groups.register_group(session, people["editor"], data)
    assert group.ward.code == "E05000001" and group.postcode == "TS1 1AA"


BNG = "looks like British National Grid easting/northing in metres"


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"name": None}, "name", "is required"),
        ({"name": "   "}, "name", "is required"),
        ({"name": "x" * 301}, "name", "at most 300 characters"),
        ({"name": 12}, "name", "must be text"),
        ({"categories": None}, "categories", "at least one"),
        ({"categories": []}, "categories", "at least one"),
        ({"categories": "faith"}, "categories", "must be a list"),
        ({"categories": ["faith", "knitting"]}, "categories", "unknown category: knitting"),
        ({"kind": "club"}, "kind", "must be one of"),
        ({"website": "allotments.example"}, "website", "http"),
        ({"website": "javascript:alert(1)"}, "website", "http"),
        ({"charity_number": "12-AB"}, "charity_number", "not a charity number"),
        ({"postcode": "not a postcode"}, "postcode", "not a UK postcode"),
        ({"wards_served": ["E05999999"]}, "wards_served", "unknown ward code: E05999999"),
        ({"lon": None, "lat": None}, "location", "give a longitude and latitude, or a postcode"),
        ({"lon": None}, "lon", "is required with lat"),
        ({"lon": "west"}, "lon", "must be a number"),
        ({"lat": True}, "lat", "must be a number"),
        ({"lat": float("nan")}, "lat", "finite"),
        ({"lon": 200.0}, "lon", "between -180 and 180"),
        ({"lat": 95.0}, "lat", "between -90 and 90"),
        ({"lon": 383_000, "lat": 398_000}, "lon", BNG),
        ({"lon": 383_000, "lat": 398_000}, "lat", BNG),
        ({"lon": 0.5, "lat": 51.5}, "location", "outside every known ward"),
        ({"lon": 53.45, "lat": -2.05}, "location", "look swapped"),
        ({"lon": None, "lat": None, "postcode": "ZZ9 9ZZ"}, "postcode", "not in the postcode"),
        ({"ward_code": "E05000001"}, "ward_code", "cannot be set"),
        ({"status": "active"}, "status", "cannot be set"),
        ({"colour": "green"}, "colour", "not a field of a group"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_reason(session, people, data, field, reason):
    with pytest.raises(Invalid) as error:
        groups.register_group(session, people["editor"], valid(**data))
    assert reason in error.value.fields[field]
    assert session.scalar(select(func.count()).select_from(CommunityGroup)) == 0


def test_a_postcode_outside_every_ward_is_refused(session, people):
    session.add(Postcode(postcode="ZZ1 1ZZ", lon=0.5, lat=51.5))
    session.commit()
    data = {"name": "Far Club", "categories": ["faith"], "postcode": "ZZ1 1ZZ"}
    with pytest.raises(Invalid) as error:
        groups.register_group(session, people["editor"], data)
    assert error.value.fields == {"postcode": "is outside every known ward"}


@pytest.mark.parametrize(
    ("a", "b", "similar"),
    [
        ("Ashcombe Walking Group", "ashcombe walking group", True),
        ("The Ashcombe Walking Group", "Ashcombe Walking Group", True),
        ("Ashcombe Walking Group", "Ashcombe Walking Grp", True),
        ("Knit and Natter", "Knit & Natter", True),
        ("Repair Café", "Repair Cafe", True),
        ("Eastmere Choir", "Eastmere Community Choir", True),
        ("Ashcombe Walking Group", "Ashcombe Knitting Group", False),
        ("Ashcombe Walking Group", "Ashcombe Food Bank", False),
        ("1st Eastmere Scouts", "2nd Eastmere Scouts", False),
    ],
)
def test_similar_names(a, b, similar):
    assert duplicates.similar_names(a, b) is similar


def test_a_similar_name_within_250_m_is_a_likely_duplicate(session, people):
    existing = make_group(session, "Allotment Society", WEST)
    # about 200 m north: a duplicate; about 300 m north: not
    with pytest.raises(duplicates.LikelyDuplicate) as error:
        groups.register_group(session, people["editor"], valid(lat=53.4518))
    [(group, metres)] = error.value.duplicates
    assert group == existing and 190 < metres < 210
    assert error.value.status == 409 and "Allotment Society" in error.value.fields["name"]
    far, _ = groups.register_group(session, people["editor"], valid(lat=53.4527))
    assert far.id != existing.id


def test_a_likely_duplicate_is_saved_once_confirmed(session, people):
    make_group(session, "Allotment Society", WEST)
    group, _ = groups.register_group(session, people["editor"], valid(), confirm_duplicate=True)
    assert session.scalar(select(func.count()).select_from(CommunityGroup)) == 2
    assert group.name == "Allotment Society"


def test_a_closed_group_is_not_a_duplicate(session, people):
    make_group(session, "Allotment Society", WEST, status="closed")
    group, _ = groups.register_group(session, people["editor"], valid())
    assert group.status == "pending"


def test_an_idempotency_key_replays_the_first_group(session, people):
    first, replayed = groups.register_group(
        session, people["editor"], valid(), idempotency=("key-1", "hash-a")
    )
    assert replayed is False
    again, replayed = groups.register_group(
        session, people["editor"], valid(), idempotency=("key-1", "hash-a")
    )
    assert (again, replayed) == (first, True)
    with pytest.raises(Invalid) as error:
        groups.register_group(session, people["editor"], valid(), idempotency=("key-1", "b"))
    assert "Idempotency-Key" in error.value.fields
    # keys belong to their user
    other, replayed = groups.register_group(
        session, people["trusted"], valid(lat=53.46), idempotency=("key-1", "hash-a")
    )
    assert other != first and replayed is False


def test_a_trusted_editor_edits_an_active_group_directly(session, people):
    group, _ = groups.register_group(session, people["trusted"], valid())
    edit = {"name": "Green Lane Allotments", "lon": -1.95, "lat": 53.45}
    result = groups.update_group(session, people["trusted"], group, edit)
    assert result is None
    assert group.name == "Green Lane Allotments" and group.ward.code == "E05000001"
    event = audit.group_history(session, group)[-1]
    assert event.action == "update" and event.user_id == people["trusted"].id
    assert event.changes == {
        "name": {"from": "Allotment Society", "to": "Green Lane Allotments"},
        "lonlat": {"from": [-2.05, 53.45], "to": [-1.95, 53.45]},
    }


def test_an_untrusted_editors_edit_to_an_active_group_waits_for_approval(session, people):
    group = make_group(
        session, "Allotment Society", WEST, organisation_id=people["editor"].organisation_id
    )
    proposal = groups.update_group(session, people["editor"], group, {"name": "Allotments"})
    assert isinstance(proposal, PendingChange) and proposal.changes == {"name": "Allotments"}
    session.expire_all()
    assert group.name == "Allotment Society"  # unchanged until approved
    assert groups.moderation_queue(session) == ([], [proposal])
    groups.approve_change(session, people["admin"], proposal)
    assert group.name == "Allotments" and proposal.status == "approved"
    assert proposal.decided_by_id == people["admin"].id
    assert history(session, group) == [
        ("propose", people["editor"].id),
        ("approve_change", people["admin"].id),
    ]


def test_a_rejected_change_leaves_the_group_as_it_was(session, people):
    group = make_group(
        session, "Allotment Society", WEST, organisation_id=people["editor"].organisation_id
    )
    proposal = groups.update_group(session, people["editor"], group, {"name": "Allotments"})
    with pytest.raises(Invalid):
        groups.reject_change(session, people["admin"], proposal, "  ")
    groups.reject_change(session, people["admin"], proposal, "The name on the sign differs")
    assert group.name == "Allotment Society" and proposal.status == "rejected"
    assert audit.group_history(session, group)[-1].reason == "The name on the sign differs"
    with pytest.raises(Conflict):
        groups.approve_change(session, people["admin"], proposal)


def test_an_untrusted_editor_edits_a_pending_group_directly(session, people):
    group, _ = groups.register_group(session, people["editor"], valid())
    assert groups.update_group(session, people["editor"], group, {"name": "Allotments"}) is None
    assert group.name == "Allotments" and group.status == "pending"


def test_an_edit_that_changes_nothing_records_nothing(session, people):
    group, _ = groups.register_group(session, people["trusted"], valid())
    assert groups.update_group(session, people["trusted"], group, valid()) is None
    assert history(session, group) == [("create", people["trusted"].id)]


def test_admins_approve_and_reject_pending_groups(session, people):
    first, _ = groups.register_group(session, people["editor"], valid())
    second, _ = groups.register_group(session, people["editor"], valid(name="Bee Keepers"))
    for doing in (
        lambda: groups.approve_group(session, people["editor"], first),
        lambda: groups.reject_group(session, people["trusted"], first, "no"),
    ):
        with pytest.raises(Forbidden):
            doing()
    groups.approve_group(session, people["admin"], first)
    assert first.status == "active" and first.active_from == groups.today()
    with pytest.raises(Invalid):
        groups.reject_group(session, people["admin"], second, "")
    groups.reject_group(session, people["admin"], second, "Not a community group")
    assert (second.status, second.close_reason) == ("closed", "Not a community group")
    assert history(session, second)[-1] == ("reject", people["admin"].id)
    with pytest.raises(Conflict):
        groups.approve_group(session, people["admin"], first)  # already active


def test_editors_change_only_their_own_organisations_groups(session, people):
    group, _ = groups.register_group(session, people["editor"], valid())
    for doing in (
        lambda: groups.update_group(session, people["other"], group, {"name": "Mine now"}),
        lambda: groups.close_group(session, people["other"], group, "Gone"),
        lambda: groups.mark_verified(session, people["other"], group),
    ):
        with pytest.raises(Forbidden):
            doing()
    assert groups.update_group(session, people["admin"], group, {"name": "By admin"}) is None
    assert group.name == "By admin"


def test_a_closed_group_keeps_its_record_and_reason(session, people):
    group, _ = groups.register_group(session, people["trusted"], valid())
    with pytest.raises(Invalid) as error:
        groups.close_group(session, people["trusted"], group, None)
    assert error.value.fields == {"reason": "is required"}
    groups.close_group(session, people["trusted"], group, "Lost its plot")
    session.expire_all()
    stored = session.get(CommunityGroup, group.id)
    assert (stored.status, stored.close_reason) == ("closed", "Lost its plot")
    assert stored.active_until == groups.today()
    for doing in (
        lambda: groups.close_group(session, people["trusted"], stored, "again"),
        lambda: groups.update_group(session, people["trusted"], stored, {"name": "x"}),
        lambda: groups.mark_verified(session, people["trusted"], stored),
    ):
        with pytest.raises(Conflict):
            doing()
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.reason) == ("close", "Lost its plot")
    assert event.changes == {"status": {"from": "active", "to": "closed"}}


def test_editors_see_their_groups_not_verified_in_12_months_and_verify_them(session, people):
    org = people["editor"].organisation_id
    a_year_ago = groups.today() - timedelta(days=366)
    stale = make_group(session, "Stale", WEST, organisation_id=org, last_verified=a_year_ago)
    never = make_group(session, "Never", WEST, organisation_id=org)
    make_group(session, "Fresh", WEST, organisation_id=org, last_verified=groups.today())
    make_group(session, "Closed", WEST, organisation_id=org, status="closed")
    make_group(session, "Theirs", WEST, organisation_id=people["other"].organisation_id)
    assert groups.stale_groups(session, people["editor"]) == [never, stale]
    assert len(groups.stale_groups(session, people["admin"])) == 3
    groups.mark_verified(session, people["editor"], stale)
    assert stale.last_verified == groups.today()
    assert groups.stale_groups(session, people["editor"]) == [never]
    assert history(session, stale) == [("verify", people["editor"].id)]


def test_twelve_months_is_counted_from_the_given_day(session, people):
    org = people["editor"].organisation_id
    make_group(session, "Checked", WEST, organisation_id=org, last_verified=date(2025, 6, 1))
    assert groups.stale_groups(session, people["editor"], on=date(2026, 5, 31)) == []
    assert len(groups.stale_groups(session, people["editor"], on=date(2026, 6, 2))) == 1


def test_acting_on_several_groups_changes_all_of_them_or_none(session, people):
    editor = people["editor"]
    org = editor.organisation_id
    mine = [make_group(session, f"Club {i}", (-2.05, 53.45), organisation_id=org) for i in range(3)]
    theirs = make_group(
        session, "Their Club", (-2.05, 53.45), organisation_id=people["other"].organisation_id
    )
    with pytest.raises(Forbidden):
        groups.act_on_groups(session, editor, [*mine, theirs], "close", "Merged")
    session.expire_all()
    assert {g.status for g in mine} == {"active"}  # the first three were not closed either
    groups.act_on_groups(session, editor, mine, "close", "Merged")
    assert {(g.status, g.close_reason) for g in mine} == {("closed", "Merged")}
    with pytest.raises(Conflict):  # closed groups cannot be checked
        groups.act_on_groups(session, editor, mine, "verify")


@pytest.mark.parametrize(
    ("action", "chosen", "reason", "field"),
    [
        ("delete", True, None, "action"),
        ("verify", False, None, "ids"),
        ("close", True, " ", "reason"),
    ],
)
def test_a_bulk_action_needs_an_action_groups_and_for_closing_a_reason(
    session, people, action, chosen, reason, field
):
    group = make_group(
        session, "Club", (-2.05, 53.45), organisation_id=people["editor"].organisation_id
    )
    with pytest.raises(Invalid) as error:
        groups.act_on_groups(session, people["editor"], [group] if chosen else [], action, reason)
    assert field in error.value.fields


def test_approving_an_old_postcode_only_change_moves_the_group_to_the_postcode(session, people):
    session.add(Postcode(postcode="TS2 2BB", lon=-2.05, lat=53.45))
    group = make_group(
        session, "Club", (-1.95, 53.45), organisation_id=people["editor"].organisation_id
    )
    proposal = PendingChange(
        group_id=group.id, user_id=people["editor"].id, changes={"postcode": "TS2 2BB"}
    )
    session.add(proposal)
    session.commit()
    groups.approve_change(session, people["admin"], proposal)
    assert (group.postcode, group.ward.code) == ("TS2 2BB", "E05000002")


def test_only_an_admin_reopens_a_closed_group(session, people):
    group = make_group(
        session, "Club", (-2.05, 53.45), organisation_id=people["editor"].organisation_id
    )
    with pytest.raises(Conflict):
        groups.reopen_group(session, people["admin"], group)
    groups.close_group(session, people["editor"], group, "Paused")
    with pytest.raises(Forbidden):
        groups.reopen_group(session, people["editor"], group)
    groups.reopen_group(session, people["admin"], group)
    assert group.status == "active" and history(session, group)[-1][0] == "reopen"
