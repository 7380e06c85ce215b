"""The lists editors and admins work through: search, filters, sorting, pages, bulk actions."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from mapper.core import groups
from mapper.store.models import CommunityGroup
from tests.factories import four_users, make_group
from tests.forms import post_form, sign_in

WEST, EAST = (-2.05, 53.45), (-1.95, 53.45)


@pytest.fixture
def people(session):
    return four_users(session)


def names(page):
    return re.findall(r'aria-label="Choose ([^"]+)"', page)


@pytest.fixture
def many(session, people):
    """120 groups of the untrusted editor's organisation and two of another's."""
    org = people["editor"].organisation_id
    for i in range(120):
        make_group(
            session,
            f"Group {i:03d}",
            WEST if i % 2 else EAST,
            categories=["faith"] if i % 3 == 0 else ["arts-culture"],
            organisation_id=org,
            postcode="TS1 1AA" if i == 7 else None,
            last_verified=date(2020, 1, 1) if i % 10 == 0 else groups.today(),
        )
    other = people["other"].organisation_id
    make_group(session, "Other Choir", WEST, organisation_id=other)
    make_group(session, "Other Club", EAST, organisation_id=other, status="closed")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", 120),
        ("?q=group+00", 10),
        ("?q=ts11aa", 1),
        ("?q=west+ward", 60),
        ("?category=faith", 40),
        ("?ward=E05000001", 60),
        ("?stale=1", 12),
        ("?status=closed", 0),
        ("?q=choir", 0),  # another organisation's groups are not an editor's to see
    ],
)
def test_an_editor_searches_and_filters_their_groups(client, many, query, expected):
    sign_in(client, "ed@lio.example")
    page = client.get("/groups/mine" + query).get_data(as_text=True)
    assert re.search(rf'<p id="result-count">{expected} group', page)
    assert len(names(page)) == min(expected, 50)  # pages of 50


def test_the_list_pages_and_sorts(client, many):
    sign_in(client, "ed@lio.example")
    first = client.get("/groups/mine").get_data(as_text=True)
    assert names(first)[:2] == ["Group 000", "Group 001"] and "Page 1 of 3" in first
    third = client.get("/groups/mine?page=3").get_data(as_text=True)
    assert names(third)[-1] == "Group 119" and len(names(third)) == 20
    assert 'rel="prev"' in third and 'rel="next"' not in third
    oldest = client.get("/groups/mine?sort=checked").get_data(as_text=True)
    assert names(oldest)[0] == "Group 000"  # checked in 2020


def test_an_admin_filters_by_organisation_and_sees_every_group(client, session, many, people):
    sign_in(client, "admin@council.example")
    page = client.get("/groups/mine").get_data(as_text=True)
    assert "122 groups" in page
    org = people["other"].organisation_id
    page = client.get(f"/groups/mine?organisation={org}").get_data(as_text=True)
    assert names(page) == ["Other Choir", "Other Club"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?status=gone", "status"),
        ("?ward=nowhere", "ward"),
        ("?category=<b>", "category"),
        ("?sort=colour", "sort"),
        ("?page=0", "page"),
        ("?page=two", "page"),
        ("?organisation=x", "organisation"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(client, people, query, field):
    sign_in(client, "ed@lio.example")
    response = client.get("/groups/mine" + query, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]


def chosen(session, *names_):
    return [
        g.id for g in session.scalars(select(CommunityGroup).where(CommunityGroup.name.in_(names_)))
    ]


def test_bulk_actions_ask_for_confirmation_first(client, session, many):
    sign_in(client, "ed@lio.example")
    ids = chosen(session, "Group 000", "Group 010")
    data = {"ids": ids, "action": "verify", "back": "/groups/mine?stale=1"}
    response = post_form(client, "/groups/bulk", data, form_url="/groups/mine")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Mark 2 groups as checked today?" in page and "Group 010" in page
    session.expire_all()
    assert session.get(CommunityGroup, ids[0]).last_verified == date(2020, 1, 1)
    response = post_form(client, "/groups/bulk", {**data, "confirmed": "yes"}, "/groups/mine")
    assert response.headers["Location"] == "/groups/mine?stale=1"
    session.expire_all()
    assert {session.get(CommunityGroup, i).last_verified for i in ids} == {groups.today()}


def test_closing_in_bulk_needs_a_reason_and_closes_all_or_nothing(client, session, many):
    sign_in(client, "ed@lio.example")
    ids = chosen(session, "Group 001", "Group 002")
    data = {"ids": ids, "action": "close"}
    response = post_form(client, "/groups/bulk", data, "/groups/mine")
    assert response.status_code == 302
    assert "Enter the reason" in client.get("/groups/mine").get_data(as_text=True)
    page = post_form(client, "/groups/bulk", {**data, "reason": "Merged"}, "/groups/mine")
    assert 'class="button button-warning">Close 2 groups' in page.get_data(as_text=True)
    post_form(
        client, "/groups/bulk", {**data, "reason": "Merged", "confirmed": "yes"}, "/groups/mine"
    )
    session.expire_all()
    assert {session.get(CommunityGroup, i).status for i in ids} == {"closed"}


def test_an_editor_cannot_bulk_approve_or_touch_another_organisations_groups(client, session, many):
    sign_in(client, "ed@lio.example")
    theirs = chosen(session, "Other Choir")
    data = {"ids": theirs, "action": "close", "reason": "x", "confirmed": "yes"}
    post_form(client, "/groups/bulk", data, "/groups/mine")
    assert "Choose at least one group" in client.get("/groups/mine").get_data(as_text=True)
    session.expire_all()
    assert session.get(CommunityGroup, theirs[0]).status == "active"
    pending, _ = groups.register_group(
        session,
        many_editor(session),
        {"name": "New", "categories": ["faith"], "lon": -2.05, "lat": 53.45},
    )
    data = {"ids": [pending.id], "action": "approve", "confirmed": "yes"}
    post_form(client, "/groups/bulk", data, "/groups/mine")
    session.expire_all()
    assert session.get(CommunityGroup, pending.id).status == "pending"


def many_editor(session):
    from mapper.store.models import User

    return session.scalar(select(User).where(User.email == "ed@lio.example"))


def test_pending_work_shows_in_the_list_with_a_preview(client, session, people):
    editor = people["editor"]
    pending, _ = groups.register_group(
        session, editor, {"name": "Waiting Club", "categories": ["faith"], "postcode": "TS1 1AA"}
    )
    active = make_group(session, "Choir", WEST, organisation_id=editor.organisation_id)
    groups.update_group(session, editor, active, {"postcode": "TS1 1AA"})
    sign_in(client, "ed@lio.example")
    page = client.get("/groups/mine").get_data(as_text=True)
    assert "New group awaiting approval" in page
    assert "Change to postcode, location awaiting approval" in page
    preview = client.get(f"/groups/{active.id}/preview").get_data(as_text=True)
    assert "Change awaiting approval" in preview and "TS1 1AA" in preview
    assert 'data-lon="-1.95" data-lat="53.45" data-was-lon="-2.05"' in preview
    assert client.get(f"/groups/{pending.id}/preview").status_code == 200
    sign_in(client, "oz@other.example")
    assert client.get(f"/groups/{pending.id}/preview").status_code == 403


def test_an_admin_reopens_a_closed_group_and_an_editor_cannot(client, session, people):
    group = make_group(session, "Choir", WEST, organisation_id=people["editor"].organisation_id)
    groups.close_group(session, people["admin"], group, "Paused")
    sign_in(client, "ed@lio.example")
    assert post_form(client, f"/groups/{group.id}/reopen", {}, "/groups/mine").status_code == 403
    sign_in(client, "admin@council.example")
    assert "Reopen" in client.get("/groups/mine?status=closed").get_data(as_text=True)
    post_form(client, f"/groups/{group.id}/reopen", {}, "/groups/mine")
    session.expire_all()
    assert (group.status, group.close_reason, group.active_until) == ("active", None, None)
