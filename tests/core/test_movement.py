"""What changed, from the audit trail: each kind of event a public reader is told of, and
those never told."""

import csv
from datetime import date

import pytest

from mapper.core import groups, movement, records
from mapper.errors import BadRequest
from mapper.io import located
from mapper.store.models import CommunityGroup
from tests.factories import four_users, run_cli

WEST = (-2.05, 53.45)
LONG_AGO = date(2000, 1, 1)


@pytest.fixture
def people(session):
    return four_users(session)


def register(session, user, name, **values):
    data = {"name": name, "categories": ["food-support"], "lon": WEST[0], "lat": WEST[1]}
    return groups.register_group(session, user, {**data, **values})[0]


def changes(session, **scope):
    return [(e.change, e.group_name) for e in movement.changes_since(session, LONG_AGO, **scope)]


def test_approval_reopening_and_approved_edits_are_told_in_order(session, people):
    editor, admin = people["editor"], people["admin"]
    group = register(session, editor, "Knit and Natter")
    assert changes(session) == []  # pending: never public
    groups.approve_group(session, admin, group)
    proposal = groups.update_group(session, editor, group, {"meeting_times": "Tuesdays"})
    assert changes(session) == [("started", "Knit and Natter")]  # a proposal is not a change
    groups.approve_change(session, admin, proposal)
    groups.mark_verified(session, admin, group)  # checked, not changed
    groups.close_group(session, admin, group, "Hall closed")
    groups.reopen_group(session, admin, group)
    assert changes(session) == [
        ("reopened", "Knit and Natter"),
        ("closed", "Knit and Natter"),
        ("changed", "Knit and Natter"),
        ("started", "Knit and Natter"),
    ]
    words = [e.words for e in movement.changes_since(session, LONG_AGO)]
    assert words[2] == "Knit and Natter changed its meeting times."


def test_an_approximate_groups_move_is_not_told_but_its_new_name_is(session, people):
    trusted = people["trusted"]
    group = register(session, trusted, "Safe Space", location_precision="approximate")
    groups.update_group(session, trusted, group, {"lon": -2.06, "lat": 53.46})
    groups.update_group(session, trusted, group, {"name": "Safer Space", "postcode": "TS1 1AA"})
    entries = movement.changes_since(session, LONG_AGO)
    assert [e.words for e in entries] == [
        "Safer Space changed its name.",
        "Safer Space was added to the map.",
    ]


def test_since_is_a_day_included_and_scope_is_the_groups_ward_now(session, people):
    register(session, people["trusted"], "Food Share")
    today = date.today()
    assert len(movement.changes_since(session, today)) == 1
    assert movement.changes_since(session, today, la_codes=["E08000099"])
    assert movement.changes_since(session, today, ward_codes=["E05000002"])
    assert movement.changes_since(session, today, ward_codes=["E05000001"]) == []
    with pytest.raises(BadRequest) as raised:
        movement.check_since(date(today.year + 1, 1, 1))
    assert list(raised.value.fields) == ["since"]


def test_imported_groups_are_added_when_active_and_closed_when_the_feed_drops_them(app, session):
    run_cli(app, "demo")
    with open(located.DEMO_FOLDER / "groups.csv", newline="", encoding="utf-8") as file:
        statuses = [row["status"] for row in csv.DictReader(file)]
    entries = movement.changes_since(session, LONG_AGO)
    assert [e.change for e in entries] == ["started"] * statuses.count("active")
    # A feed read whole closes what it no longer lists: told as closed.
    group = session.query(CommunityGroup).filter_by(status="active").first()
    group.external_id = "feed:1"
    session.commit()
    records.retire_missing(session, CommunityGroup, "feed:", kept=set())
    session.commit()
    newest = movement.changes_since(session, LONG_AGO)[0]
    assert (newest.change, newest.group_id) == ("closed", group.id)
