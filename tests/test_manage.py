"""The editors' and administrators' pages: register, edit, close, verify, moderate, history."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from mapper import registry
from mapper.models import CommunityGroup, PendingChange

from .factories import four_users, make_group
from .forms import post_form, sign_in

WEST = (-2.05, 53.45)


@pytest.fixture
def people(session):
    return four_users(session)


def form(**changes):
    data = {
        "name": "Allotment Society",
        "categories": ["environment-green-space"],
        "postcode": "TS1 1AA",
        "lon": "",
        "lat": "",
        "description": "",
        "kind": "",
        "address": "",
        "website": "",
        "contact": "",
        "meeting_times": "",
        "charity_number": "",
    }
    return {**data, **changes}


def field_error(page, field):
    """The message shown beside a field, or None."""
    match = re.search(
        rf'id="{field}-error"><span class="visually-hidden">Error: </span>([^<]*)<', page
    )
    return match.group(1) if match else None


def test_every_input_of_the_group_form_has_a_label(client, people):
    sign_in(client, "ed@lio.example")
    page = client.get("/groups/new").get_data(as_text=True)
    ids = set(re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page))
    labelled = set(re.findall(r'<label for="([^"]+)"', page))
    assert ids - labelled == set()
    assert {"name", "postcode", "lon", "lat", "website", "wards_served", "kind"} <= ids
    assert "category-faith" in ids and "Faith" in page  # the managed vocabulary
    assert "/static/js/location-picker.js" in page
    assert not re.search(r'(src|href)="(https?:)?//', page)  # every asset is served by the app


def test_an_editor_registers_a_group_by_postcode(client, session, people):
    sign_in(client, "ed@lio.example")
    response = post_form(client, "/groups/new", form())
    assert response.status_code == 302 and response.headers["Location"] == "/groups/mine"
    group = session.scalar(select(CommunityGroup))
    assert (group.name, group.status, group.ward.code) == (
        "Allotment Society",
        "pending",
        "E05000001",
    )
    assert "waits for an administrator" in client.get("/groups/mine").get_data(as_text=True)


def test_a_group_can_be_placed_by_clicking_the_map(client, session, people):
    sign_in(client, "tess@cvs.example")
    post_form(client, "/groups/new", form(postcode="", lon="-2.05", lat="53.45"))
    group = session.scalar(select(CommunityGroup))
    assert (group.status, group.ward.code) == ("active", "E05000002")


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"name": ""}, "name", "is required"),
        ({"categories": []}, "categories", "choose at least one category"),
        ({"website": "www.example"}, "website", "must be a web address"),
        ({"postcode": "XX1 1XX"}, "postcode", "is not in the postcode directory"),
        ({"postcode": ""}, "location", "give a longitude and latitude, or a postcode"),
        ({"lon": "383000", "lat": "398000"}, "lon", "looks like British National Grid"),
        ({"lon": "0.5", "lat": "51.5"}, "location", "is outside every known ward"),
        ({"kind": "club"}, "kind", "must be one of"),
    ],
)
def test_the_form_shows_a_message_beside_the_bad_field(
    client, session, people, changes, field, reason
):
    sign_in(client, "ed@lio.example")
    response = post_form(
        client, "/groups/new", form(description="Growing food together", **changes)
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert reason in field_error(page, field)
    assert f'href="#{field}"' in page  # the error summary links to the field
    assert "Growing food together" in page  # what was typed is kept
    assert session.scalar(select(CommunityGroup)) is None


def test_typed_text_is_shown_back_escaped(client, people):
    sign_in(client, "ed@lio.example")
    evil = '"><script>alert(1)</script>'
    page = post_form(client, "/groups/new", form(name=evil, categories=[])).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_a_likely_duplicate_is_shown_and_must_be_confirmed(client, session, people):
    make_group(session, "Allotment Society", (-1.9501, 53.4501))
    sign_in(client, "ed@lio.example")
    response = post_form(client, "/groups/new", form())
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Is this one of these groups?" in page and 'name="confirm_duplicate"' in page
    assert len(session.scalars(select(CommunityGroup)).all()) == 1
    response = post_form(client, "/groups/new", form(confirm_duplicate="yes"))
    assert response.status_code == 302
    assert len(session.scalars(select(CommunityGroup)).all()) == 2


def test_an_editor_edits_their_group_and_not_anothers(client, session, people):
    group, _ = registry.register_group(
        session,
        people["trusted"],
        {"name": "Choir", "categories": ["faith"], "postcode": "TS1 1AA"},
    )
    sign_in(client, "tess@cvs.example")
    page = client.get(f"/groups/{group.id}/edit").get_data(as_text=True)
    assert 'value="Choir"' in page and 'value="-1.950000"' in page
    response = post_form(
        client, f"/groups/{group.id}/edit", form(name="Chamber Choir", lon="-1.95", lat="53.45")
    )
    assert response.status_code == 302
    assert group.name == "Chamber Choir"
    sign_in(client, "oz@other.example")
    assert client.get(f"/groups/{group.id}/edit").status_code == 403


def test_an_untrusted_edit_of_an_active_group_goes_to_the_queue(client, session, people):
    org = people["editor"].organisation_id
    group = make_group(session, "Choir", (-1.95, 53.45), organisation_id=org)
    sign_in(client, "ed@lio.example")
    response = post_form(client, f"/groups/{group.id}/edit", form(name="Chamber Choir"))
    assert response.status_code == 302
    assert "wait for an administrator" in client.get("/groups/mine").get_data(as_text=True)
    session.expire_all()
    assert group.name == "Choir"
    # the postcode's centroid is where the group already is, so the location is no change
    assert session.scalar(select(PendingChange)).changes == {
        "name": "Chamber Choir",
        "categories": ["environment-green-space"],
        "postcode": "TS1 1AA",
    }


def test_closing_needs_a_reason_and_keeps_the_group(client, session, people):
    org = people["editor"].organisation_id
    group = make_group(session, "Choir", WEST, organisation_id=org)
    sign_in(client, "ed@lio.example")
    url = f"/groups/{group.id}/close"
    response = post_form(client, url, {"reason": " "}, form_url=f"/groups/{group.id}/edit")
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "reason") == "is required"
    response = post_form(client, url, {"reason": "Folded"}, form_url=f"/groups/{group.id}/edit")
    assert response.status_code == 302
    session.expire_all()
    assert (group.status, group.close_reason) == ("closed", "Folded")


def test_stale_groups_are_listed_and_verified_in_one_click(client, session, people):
    org = people["editor"].organisation_id
    group = make_group(
        session, "Old Choir", WEST, organisation_id=org, last_verified=date(2020, 1, 1)
    )
    make_group(session, "Fresh Choir", WEST, organisation_id=org, last_verified=registry.today())
    sign_in(client, "ed@lio.example")
    page = client.get("/groups/mine").get_data(as_text=True)
    stale = page.split('id="stale-title"')[1].split('id="all-title"')[0]
    assert "Old Choir" in stale and "Fresh Choir" not in stale
    response = post_form(client, f"/groups/{group.id}/verify", {}, form_url="/groups/mine")
    assert response.status_code == 302
    session.expire_all()
    assert group.last_verified == registry.today()
    assert "Every open group was checked" in client.get("/groups/mine").get_data(as_text=True)


def test_admins_approve_and_reject_from_the_queue(client, session, people):
    data = {"categories": ["faith"], "postcode": "TS1 1AA"}
    first, _ = registry.register_group(session, people["editor"], {"name": "Choir", **data})
    second, _ = registry.register_group(session, people["editor"], {"name": "Bee Keepers", **data})
    sign_in(client, "admin@council.example")
    page = client.get("/moderation").get_data(as_text=True)
    assert "Choir" in page and "Bee Keepers" in page and "ed@lio.example" in page
    post_form(client, f"/moderation/groups/{first.id}", {"decision": "approve"}, "/moderation")
    response = post_form(
        client, f"/moderation/groups/{second.id}", {"decision": "reject"}, "/moderation"
    )
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), f"group-{second.id}-reason")
    post_form(
        client,
        f"/moderation/groups/{second.id}",
        {"decision": "reject", "reason": "Duplicate of another group"},
        "/moderation",
    )
    session.expire_all()
    assert (first.status, second.status) == ("active", "closed")
    assert second.close_reason == "Duplicate of another group"
    assert "No new groups are waiting" in client.get("/moderation").get_data(as_text=True)


def test_admins_decide_pending_changes_from_the_queue(client, session, people):
    org = people["editor"].organisation_id
    group = make_group(session, "Choir", WEST, organisation_id=org)
    proposal = registry.update_group(session, people["editor"], group, {"name": "Chamber Choir"})
    sign_in(client, "admin@council.example")
    page = client.get("/moderation").get_data(as_text=True)
    assert "Change to Choir" in page and "Chamber Choir" in page
    post_form(client, f"/moderation/changes/{proposal.id}", {"decision": "approve"}, "/moderation")
    session.expire_all()
    assert group.name == "Chamber Choir" and proposal.status == "approved"


def test_admins_read_a_groups_history_and_editors_cannot(client, session, people):
    group, _ = registry.register_group(
        session, people["editor"], {"name": "Choir", "categories": ["faith"], "postcode": "TS1 1AA"}
    )
    registry.approve_group(session, people["admin"], group)
    registry.close_group(session, people["editor"], group, "Folded")
    sign_in(client, "ed@lio.example")
    assert client.get(f"/groups/{group.id}/history").status_code == 403
    sign_in(client, "admin@council.example")
    page = client.get(f"/groups/{group.id}/history").get_data(as_text=True)
    rows = re.findall(r"<td>(create|approve|close)</td>", page)
    assert rows == ["create", "approve", "close"]
    assert "ed@lio.example" in page and "admin@council.example" in page and "Folded" in page
