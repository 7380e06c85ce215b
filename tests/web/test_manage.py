"""The editors' and administrators' pages: register, edit, close, verify, moderate, history."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from mapper.core import groups
from mapper.store.models import CommunityGroup, PendingChange
from tests.factories import four_users, make_group
from tests.forms import post_form, sign_in

WEST = (-2.05, 53.45)


@pytest.fixture
def people(session):
    return four_users(session)


def test_the_form_stores_org_ids_and_the_edit_form_shows_them(client, session, people):
    sign_in(client, "admin@council.example")
    sent = form(org_ids="gb-chc-1234567; GB-COH-1234567")
    assert post_form(client, "/groups/new", sent).status_code == 302
    group = session.scalar(select(CommunityGroup))
    assert group.org_ids == ["GB-CHC-1234567", "GB-COH-01234567"]
    page = client.get(f"/groups/{group.id}/edit").get_data(as_text=True)
    assert 'value="GB-CHC-1234567; GB-COH-01234567"' in page


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
    fields = re.findall(
        r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', page
    )
    ids = set(fields)
    labelled = set(re.findall(r'<label for="([^"]+)"', page))
    assert ids - labelled == set()
    assert {"name", "postcode", "lon", "lat", "website", "served-E05000001", "kind"} <= ids
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
        ({"name": ""}, "name", "Enter the name of the group"),
        ({"categories": []}, "categories", "Choose at least one activity"),
        ({"website": "www.example"}, "website", "Enter a web address like https://example.org"),
        ({"postcode": "XX1 1XX"}, "postcode", "We cannot find that postcode"),
        ({"postcode": "not one"}, "postcode", "Enter a real postcode, like M1 1AE"),
        ({"postcode": ""}, "location", "Enter a postcode or choose the place on the map"),
        ({"lon": "383000", "lat": "398000"}, "lon", "Enter degrees, like -2.2446"),
        ({"lon": "x", "lat": "53.45"}, "lon", "Enter the longitude as a number of degrees"),
        ({"lon": "-2.05", "lat": ""}, "lat", "Enter a latitude as well as the longitude"),
        ({"lon": "0.5", "lat": "51.5"}, "location", "The place is outside the wards we cover"),
        ({"kind": "club"}, "kind", "Choose a kind of group from the list"),
        ({"charity_number": "12"}, "charity_number", "Enter a charity number, like 1234567"),
        ({"org_ids": "GB-CHC-1234567; GB-CHC-12"}, "org_ids", "Org-ids &#39;GB-CHC-12&#39; is not"),
        ({"name": "n" * 301}, "name", "Name of the group must be 300 characters or fewer"),
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
    assert field_error(page, field).startswith(reason)
    # The error summary says the same and links to the field; no internal name shows.
    assert re.search(rf'<a href="#{field}">{re.escape(field_error(page, field))}</a>', page)
    assert "is required" not in page and "lonlat" not in page
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
    group, _ = groups.register_group(
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


def test_closing_needs_a_reason_and_a_confirmation_and_keeps_the_group(client, session, people):
    org = people["editor"].organisation_id
    group = make_group(session, "Choir", WEST, organisation_id=org)
    sign_in(client, "ed@lio.example")
    url, edit = f"/groups/{group.id}/close", f"/groups/{group.id}/edit"
    response = post_form(client, url, {"reason": " "}, form_url=edit)
    assert response.status_code == 422
    assert (
        field_error(response.get_data(as_text=True), "reason") == "Enter why the group is closing"
    )
    response = post_form(client, url, {"reason": "Folded"}, form_url=edit)
    assert response.status_code == 200  # the confirmation page: nothing closed yet
    page = response.get_data(as_text=True)
    assert "Close Choir?" in page and 'class="button button-warning">Close the group' in page
    session.expire_all()
    assert group.status == "active"
    response = post_form(client, url, {"reason": "Folded", "confirmed": "yes"}, form_url=edit)
    assert response.status_code == 302
    session.expire_all()
    assert (group.status, group.close_reason) == ("closed", "Folded")


def test_stale_groups_are_listed_and_verified_in_one_click(client, session, people):
    org = people["editor"].organisation_id
    group = make_group(
        session, "Old Choir", WEST, organisation_id=org, last_verified=date(2020, 1, 1)
    )
    make_group(session, "Fresh Choir", WEST, organisation_id=org, last_verified=groups.today())
    sign_in(client, "ed@lio.example")
    assert "1 open group not checked" in client.get("/groups/mine").get_data(as_text=True)
    stale = client.get("/groups/mine?stale=1").get_data(as_text=True)
    assert "Old Choir" in stale and "Fresh Choir" not in stale
    response = post_form(client, f"/groups/{group.id}/verify", {}, form_url="/groups/mine")
    assert response.status_code == 302
    session.expire_all()
    assert group.last_verified == groups.today()
    assert "not checked in the last 12 months" not in client.get("/groups/mine").get_data(
        as_text=True
    )


def test_admins_approve_and_reject_from_the_queue(client, session, people):
    data = {"categories": ["faith"], "postcode": "TS1 1AA"}
    first, _ = groups.register_group(session, people["editor"], {"name": "Choir", **data})
    second, _ = groups.register_group(session, people["editor"], {"name": "Bee Keepers", **data})
    sign_in(client, "admin@council.example")
    page = client.get("/moderation").get_data(as_text=True)
    assert "Choir" in page and "Bee Keepers" in page and "ed@lio.example" in page
    post_form(client, f"/moderation/groups/{first.id}", {"decision": "approve"}, "/moderation")
    url = f"/moderation/groups/{second.id}"
    response = post_form(client, url, {"decision": "reject"}, "/moderation")
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), f"group-{second.id}-reason") == (
        "Enter why you reject it"
    )
    reject = {"decision": "reject", "reason": "Duplicate of another group"}
    confirm = post_form(client, url, reject, "/moderation")
    assert confirm.status_code == 200 and "Reject Bee Keepers?" in confirm.get_data(as_text=True)
    session.expire_all()
    assert second.status == "pending"  # not until confirmed
    post_form(client, url, {**reject, "confirmed": "yes"}, "/moderation")
    session.expire_all()
    assert (first.status, second.status) == ("active", "closed")
    assert second.close_reason == "Duplicate of another group"
    assert "No new groups are waiting" in client.get("/moderation").get_data(as_text=True)


def test_admins_decide_pending_changes_from_the_queue(client, session, people):
    org = people["editor"].organisation_id
    group = make_group(session, "Choir", WEST, organisation_id=org)
    proposal = groups.update_group(session, people["editor"], group, {"name": "Chamber Choir"})
    sign_in(client, "admin@council.example")
    page = client.get("/moderation").get_data(as_text=True)
    assert "Change to Choir" in page and "Chamber Choir" in page
    post_form(client, f"/moderation/changes/{proposal.id}", {"decision": "approve"}, "/moderation")
    session.expire_all()
    assert group.name == "Chamber Choir" and proposal.status == "approved"


def test_admins_read_a_groups_history_and_editors_cannot(client, session, people):
    group, _ = groups.register_group(
        session, people["editor"], {"name": "Choir", "categories": ["faith"], "postcode": "TS1 1AA"}
    )
    groups.approve_group(session, people["admin"], group)
    groups.close_group(session, people["editor"], group, "Folded")
    sign_in(client, "ed@lio.example")
    assert client.get(f"/groups/{group.id}/history").status_code == 403
    sign_in(client, "admin@council.example")
    page = client.get(f"/groups/{group.id}/history").get_data(as_text=True)
    rows = re.findall(r"<td>(create|approve|close)</td>", page)
    assert rows == ["create", "approve", "close"]
    assert "ed@lio.example" in page and "admin@council.example" in page and "Folded" in page


def edit_form(client, group):
    """The edit form's values as the page pre-fills them (the stored point included)."""
    page = client.get(f"/groups/{group.id}/edit").get_data(as_text=True)
    values = dict(
        re.findall(r'<input id="([a-z_]+)" name="[a-z_]+" type="[a-z]+" value="([^"]*)"', page)
    )
    return form(**{k: values.get(k, "") for k in ("name", "postcode", "lon", "lat")})


@pytest.fixture
def west_postcode(session):
    from mapper.store.models import Postcode

    session.add(Postcode(postcode="TS2 2BB", lon=-2.05, lat=53.45))
    session.commit()


@pytest.mark.parametrize(
    ("location_from", "ward"),
    [("", "E05000002"), ("postcode", "E05000002"), ("point", "E05000001")],
)
def test_a_new_postcode_on_the_edit_form_moves_the_group_unless_the_point_was_changed_last(
    client, session, people, west_postcode, location_from, ward
):
    group, _ = groups.register_group(session, people["trusted"], form(categories=["faith"]))
    assert group.ward.code == "E05000001"
    sign_in(client, "tess@cvs.example")
    data = edit_form(client, group)
    assert data["lon"] == "-1.950000"  # the form pre-fills the stored point ...
    data.update(
        postcode="ts2 2bb", location_from=location_from
    )  # ... and only the postcode changes
    response = post_form(client, f"/groups/{group.id}/edit", data)
    assert response.status_code == 302
    session.expire_all()
    assert group.postcode == "TS2 2BB" and group.ward.code == ward


def test_an_admin_approving_a_new_postcode_moves_the_group_and_its_ward_count(
    client, session, people, west_postcode
):
    org = people["editor"].organisation_id
    group = make_group(
        session,
        "Choir",
        (-1.95, 53.45),
        categories=["environment-green-space"],
        organisation_id=org,
        postcode="TS1 1AA",
    )
    sign_in(client, "ed@lio.example")
    data = edit_form(client, group)
    response = post_form(client, f"/groups/{group.id}/edit", {**data, "postcode": "TS2 2BB"})
    assert response.status_code == 302
    proposal = session.scalar(select(PendingChange))
    assert proposal.changes == {"postcode": "TS2 2BB", "lonlat": [-2.05, 53.45]}
    sign_in(client, "admin@council.example")
    page = client.get("/moderation").get_data(as_text=True)
    assert 'data-lon="-2.05" data-lat="53.45" data-was-lon="-1.95"' in page  # the move, mapped
    post_form(client, f"/moderation/changes/{proposal.id}", {"decision": "approve"}, "/moderation")
    session.expire_all()
    assert (group.postcode, group.ward.code) == ("TS2 2BB", "E05000002")
    gaps = client.get("/gaps.csv").get_data(as_text=True)
    counts = {line.split(",")[0]: line for line in gaps.splitlines()[1:]}
    assert set(counts) == {"E05000001", "E05000002"}
    header = gaps.splitlines()[0].split(",")
    groups_column = header.index("groups")
    assert counts["E05000002"].split(",")[groups_column] == "1"
    assert counts["E05000001"].split(",")[groups_column] == "0"


def test_the_edit_page_names_the_ward_the_group_is_in(client, session, people):
    group, _ = groups.register_group(session, people["trusted"], form(categories=["faith"]))
    sign_in(client, "tess@cvs.example")
    page = client.get(f"/groups/{group.id}/edit").get_data(as_text=True)
    assert 'id="place-now" role="status" aria-live="polite">Ward: East Ward</p>' in page


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("?postcode=ts1+1aa", 200, None),
        ("?lon=-2.05&lat=53.45", 200, None),
        ("?postcode=XX1+1XX", 422, "postcode"),
        ("?postcode=nonsense", 422, "postcode"),
        ("?lon=x&lat=53.45", 422, "lon"),
        ("?lon=-2.05", 422, "lat"),
        ("?lon=0.5&lat=51.5", 422, "location"),
        ("", 422, "location"),
    ],
)
def test_the_place_endpoint_says_where_a_postcode_or_point_is(client, people, query, status, field):
    response = client.get("/map/place.json" + query, headers={"Accept": "application/json"})
    assert response.status_code == status
    body = response.get_json()
    if field is None:
        assert body["ward_name"] in ("East Ward", "West Ward")
    else:
        assert field in body["error"]["fields"]
