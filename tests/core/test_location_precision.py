"""Sensitive locations on both backends: set by forms, the API and imports; counted where the
group really is; published only generalised, except to its organisation and admins."""

import pytest
from sqlalchemy import select

from mapper import geo
from mapper.core import analysis, duplicates, groups
from mapper.errors import Invalid
from mapper.store.models import CommunityGroup, PendingChange
from tests.factories import four_users, make_group, make_token
from tests.forms import post_form, sign_in

# In the west ward, off the 1 km grid: the published point differs from it.
TRUE = (-2.043217, 53.456789)


@pytest.fixture
def users(session):
    return four_users(session)


def register(session, user, precision, name="Haven House", **extra):
    data = {"name": name, "categories": ["faith"], "lon": TRUE[0], "lat": TRUE[1]}
    group, _ = groups.register_group(
        session, user, {**data, "location_precision": precision, **extra}, confirm_duplicate=True
    )
    return group


@pytest.mark.parametrize("value", ["secret", "EXACTLY", 3, ["hidden"]])
def test_an_unknown_precision_is_refused_naming_the_field(session, users, value):
    with pytest.raises(Invalid) as raised:
        register(session, users["admin"], value)
    assert "location_precision" in raised.value.fields


def test_the_api_refuses_a_bad_precision_with_a_422_naming_it(client, session, users):
    body = {"name": "Haven", "categories": ["faith"], "lon": TRUE[0], "lat": TRUE[1]}
    response = client.post(
        "/api/v1/groups",
        json={**body, "location_precision": "invisible"},
        headers=make_token(session, users["admin"]),
    )
    assert response.status_code == 422
    assert "location_precision" in response.get_json()["error"]["fields"]


def test_the_ward_and_the_analysis_use_the_true_point(session, users):
    group = register(session, users["admin"], "hidden")
    assert group.ward.code == "E05000002"
    frame = analysis.compute_gaps(session).set_index("ward_code")
    assert frame.loc["E05000002", "groups"] == 1 and frame.loc["E05000001", "groups"] == 0
    # the distance to the nearest group is never measured to a group that is not exact
    assert frame["nearest_group_km"].isna().all()
    make_group(session, "Open Choir", (-1.95, 53.45), categories=["faith"])
    frame = analysis.compute_gaps(session).set_index("ward_code")
    assert frame.loc["E05000002", "nearest_group_km"] > 0


def test_the_api_publishes_the_generalised_point_and_no_address_to_others(client, session, users):
    group = register(session, users["trusted"], "approximate", address="1 Quiet Road")
    expected = geo.published_point(geo.lonlat_point(TRUE), "approximate")
    url = f"/api/v1/groups/{group.id}"
    for headers in ({}, make_token(session, users["other"])):
        feature = client.get(url, headers=headers).get_json(force=True)
        assert feature["geometry"]["coordinates"] == pytest.approx([expected.x, expected.y])
        assert feature["properties"]["location_precision"] == "approximate"
        assert "1 km" in feature["properties"]["location_note"]
        assert feature["properties"]["address"] is None
    for who in ("trusted", "admin"):  # its organisation and admins see where it is
        feature = client.get(url, headers=make_token(session, users[who])).get_json(force=True)
        assert feature["geometry"]["coordinates"] == list(TRUE)
        assert feature["properties"]["address"] == "1 Quiet Road"


def test_a_hidden_group_is_listed_by_ward_with_no_point_and_never_found_by_place(
    client, session, users
):
    group = register(session, users["admin"], "hidden")
    listed = client.get("/api/v1/groups?ward=E05000002").get_json(force=True)["features"]
    assert [(f["id"], f["geometry"]) for f in listed] == [(group.id, None)]
    near = ",".join(
        str(v) for v in (TRUE[0] - 0.001, TRUE[1] - 0.001, TRUE[0] + 0.001, TRUE[1] + 0.001)
    )
    for url in (f"/api/v1/groups?bbox={near}", f"/ogc/collections/groups/items?bbox={near}&f=json"):
        assert client.get(url).get_json(force=True)["features"] == [], url
    assert (
        client.get(f"/ogc/collections/groups/items/{group.id}?f=json").get_json()["geometry"]
        is None
    )
    assert client.get("/map/groups.json").get_json()["rows"] == []


def test_map_markers_put_an_approximate_group_in_the_box_of_its_published_point(
    client, session, users
):
    register(session, users["admin"], "approximate")
    shown = geo.published_point(geo.lonlat_point(TRUE), "approximate")
    around = lambda lon, lat: f"{lon - 0.0005},{lat - 0.0005},{lon + 0.0005},{lat + 0.0005}"  # noqa: E731
    rows = client.get(f"/map/groups.json?bbox={around(shown.x, shown.y)}").get_json()["rows"]
    assert [(r[1], r[2]) for r in rows] == [(round(shown.x, 5), round(shown.y, 5))]
    assert client.get(f"/map/groups.json?bbox={around(*TRUE)}").get_json()["rows"] == []


def test_open_referral_gives_no_true_point_nor_address(client, session, users):
    register(session, users["admin"], "approximate", address="1 Quiet Road", name="Haven A")
    register(session, users["admin"], "hidden", address="2 Quiet Road", name="Haven H")
    text = client.get("/openreferral/services?per_page=50").get_data(as_text=True)
    assert "Haven A" in text and "Haven H" in text
    assert "Quiet Road" not in text
    assert f"{TRUE[0]:.4f}" not in text and f"{TRUE[1]:.4f}" not in text


def test_duplicates_say_close_by_to_other_organisations_and_never_find_a_hidden_one(session, users):
    approximate = register(session, users["trusted"], "approximate", name="Haven House")
    hidden = register(session, users["trusted"], "hidden", name="The Haven House")
    # its own organisation is told how far
    own = duplicates.likely_duplicates(session, "Haven House", TRUE, seen_by=users["trusted"])
    assert {g.id for g, m in own if m is not None} == {approximate.id, hidden.id}
    # another organisation near the published point is told "close by", with no distance
    shown = geo.published_point(geo.lonlat_point(TRUE), "approximate")
    other = duplicates.likely_duplicates(
        session, "Haven House", (shown.x, shown.y), seen_by=users["other"]
    )
    assert other == [(approximate, None)]
    with pytest.raises(duplicates.LikelyDuplicate) as raised:
        groups.register_group(
            session,
            users["other"],
            {"name": "Haven House", "categories": ["faith"], "lon": shown.x, "lat": shown.y},
        )
    assert "close by" in str(raised.value) and " m away" not in str(raised.value)
    # near the true point but far from the published one: nothing is said
    assert duplicates.likely_duplicates(session, "Haven House", TRUE, seen_by=users["other"]) in (
        [],
        [(approximate, None)],
    )


def test_an_untrusted_editor_hides_a_location_at_once_other_edits_wait(session, users):
    editor = users["editor"]
    group = make_group(session, "Support Circle", TRUE, organisation_id=editor.organisation_id)
    proposal = groups.update_group(
        session, editor, group, {"location_precision": "hidden", "meeting_times": "Tuesdays"}
    )
    session.refresh(group)
    assert group.location_precision == "hidden"
    assert proposal.changes == {"meeting_times": "Tuesdays"}
    # publishing more of it waits for an admin
    proposal = groups.update_group(session, editor, group, {"location_precision": "exact"})
    session.refresh(group)
    assert group.location_precision == "hidden" and proposal.changes == {
        "location_precision": "exact"
    }
    assert session.scalar(select(PendingChange).where(PendingChange.id == proposal.id))


def test_an_import_carries_the_precision_column(app, session, users, tmp_path):
    path = tmp_path / "groups.csv"
    path.write_text(
        "name,lon,lat,categories,location_precision\n"
        f"Refuge One,{TRUE[0]},{TRUE[1]},faith,hidden\n"
        f"Club Two,-1.95,53.45,faith,\n"
        f"Club Three,-1.96,53.45,faith,nowhere\n"
    )
    result = app.test_cli_runner().invoke(args=["import-groups", str(path)])
    assert "unknown location precision 'nowhere'" in result.output
    stored = dict(
        session.execute(select(CommunityGroup.name, CommunityGroup.location_precision)).all()
    )
    assert stored == {"Refuge One": "hidden", "Club Two": "exact"}


def test_the_form_refuses_a_bad_precision_saying_what_to_do(client, session, users):
    sign_in(client, "tess@cvs.example")
    data = {"name": "Haven", "categories": ["faith"], "postcode": "TS1 1AA"}
    response = post_form(client, "/groups/new", {**data, "location_precision": "secret"})
    assert response.status_code == 422
    assert "Choose where the public may see the group" in response.get_data(as_text=True)
    response = post_form(client, "/groups/new", {**data, "location_precision": "approximate"})
    assert response.status_code == 302
    stored = session.scalar(select(CommunityGroup).where(CommunityGroup.name == "Haven"))
    assert stored.location_precision == "approximate"


def test_a_patch_sets_the_precision_and_its_editor_still_sees_the_true_point(
    client, session, users
):
    group = register(session, users["trusted"], "exact")
    headers = make_token(session, users["trusted"])
    response = client.patch(
        f"/api/v1/groups/{group.id}", json={"location_precision": "hidden"}, headers=headers
    )
    assert response.status_code == 200
    feature = response.get_json(force=True)
    assert feature["properties"]["location_precision"] == "hidden"
    assert feature["geometry"]["coordinates"] == list(TRUE)
    assert client.get(f"/api/v1/groups/{group.id}").get_json(force=True)["geometry"] is None
