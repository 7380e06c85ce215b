"""The admins' users, organisations and audit pages, and each person's API tokens page."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from mapper.core import accounts
from mapper.store.models import ApiToken, AuditEvent, CommunityGroup, User, utcnow
from tests.factories import make_group, make_token, make_user, two_wards
from tests.forms import csrf_token, post_form, sign_in

ADMIN_PAGES = ["/admin/users", "/admin/organisations", "/admin/audit"]


@pytest.fixture
def people(session):
    return {
        "admin": make_user(session, "admin@council.example", "admin", "Eastmere Council", True),
        "ed": make_user(session, "ed@lio.example", organisation="Small LIO"),
        "tess": make_user(session, "tess@cvs.example", organisation="Eastmere CVS (fictional)"),
    }


def as_admin(client, people):
    sign_in(client, people["admin"].email)
    return client


@pytest.mark.parametrize("url", [*ADMIN_PAGES, "/admin/users/1", "/admin/organisations/1"])
def test_admin_pages_are_for_admins_only(app, client, people, url):
    assert client.get(url).status_code == 302  # signed out: to the sign-in page
    sign_in(client, people["ed"].email)
    assert client.get(url).status_code == 403


def test_the_users_list_searches_filters_and_pages(client, session, people):
    for i in range(55):
        make_user(session, f"v{i:02d}@cvs.example", organisation="Eastmere CVS (fictional)")
    as_admin(client, people)
    page = client.get("/admin/users").get_data(as_text=True)
    assert "58 users" in page and "Page 1 of 2" in page and "admin@council.example" in page
    page = client.get("/admin/users?q=small+lio").get_data(as_text=True)
    assert "1 user match" in page and "ed@lio.example" in page and "v00@" not in page
    page = client.get("/admin/users?role=admin").get_data(as_text=True)
    assert "1 user match" in page
    people["ed"].active = False
    session.commit()
    page = client.get("/admin/users?state=inactive").get_data(as_text=True)
    assert "ed@lio.example" in page and "deactivated" in page


@pytest.mark.parametrize(
    ("query", "name"),
    [("role=owner", "role"), ("state=asleep", "state"), ("page=0", "page"), ("x=1", "x")],
)
def test_a_bad_parameter_of_the_users_list_is_a_400_naming_it(client, people, query, name):
    as_admin(client, people)
    response = client.get("/admin/users?" + query, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert name in response.get_json()["error"]["fields"]


def test_the_invite_link_shows_only_when_the_invitation_form_exists(app, client, people):
    as_admin(client, people)
    page = client.get("/admin/users").get_data(as_text=True)
    exists = any(r.rule == "/admin/invitations/new" for r in app.url_map.iter_rules())
    assert ('href="/admin/invitations/new"' in page) == exists


def test_an_admin_changes_a_users_role_and_organisation(client, session, people):
    as_admin(client, people)
    url = f"/admin/users/{people['ed'].id}"
    org = people["tess"].organisation_id
    response = post_form(client, url + "/change", {"role": "admin", "organisation": org}, url)
    assert response.status_code == 302
    session.expire_all()
    assert people["ed"].role == "admin" and people["ed"].organisation_id == org
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "change"))
    assert event.user_id == people["admin"].id


@pytest.mark.parametrize(
    ("data", "field", "status"),
    [
        ({"role": "owner", "organisation": "1"}, "role", 422),
        ({"role": "editor", "organisation": "999"}, "organisation", 422),
        ({"role": "editor", "organisation": ""}, "organisation", 422),
    ],
)
def test_a_refused_change_names_the_field_in_an_error_summary(client, people, data, field, status):
    as_admin(client, people)
    url = f"/admin/users/{people['ed'].id}"
    if data["organisation"] == "1":
        data = {**data, "organisation": people["ed"].organisation_id}
    response = post_form(client, url + "/change", data, url)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and f'href="#{field}"' in page


def test_the_only_admin_cannot_demote_themselves(client, session, people):
    as_admin(client, people)
    me = people["admin"]
    url = f"/admin/users/{me.id}"
    data = {"role": "editor", "organisation": me.organisation_id}
    response = post_form(client, url + "/change", data, url)
    assert response.status_code == 409 and "only active administrator" in response.get_data(
        as_text=True
    )
    session.expire_all()
    assert me.role == "admin"


def test_a_deactivated_users_next_request_and_token_are_refused(app, client, session, people):
    ed = people["ed"]
    headers = make_token(session, ed)
    theirs = app.test_client()
    sign_in(theirs, ed.email)
    assert theirs.get("/groups/mine").status_code == 200
    as_admin(client, people)
    url = f"/admin/users/{ed.id}"
    asked = post_form(client, url + "/deactivate", {"reason": "left"}, url)
    assert asked.status_code == 200 and "Deactivate ed@lio.example?" in asked.get_data(as_text=True)
    session.expire_all()
    assert ed.active  # not until confirmed
    done = client.post(
        url + "/deactivate",
        data={"reason": "left", "confirmed": "yes", "csrf_token": csrf_token(client, url)},
    )
    assert done.status_code == 302
    assert theirs.get("/groups/mine").status_code == 302  # signed out: to the sign-in page
    assert client.get("/api/v1/groups?status=pending", headers=headers).status_code == 401
    assert "Reactivate the account" in client.get(url).get_data(as_text=True)
    assert post_form(client, url + "/reactivate", {}, url).status_code == 302
    session.expire_all()
    assert ed.active
    assert client.get("/api/v1/groups?status=pending", headers=headers).status_code == 401
    assert theirs.get("/groups/mine").status_code == 302  # the old session stays ended


def test_an_admin_unlocks_a_locked_account(client, session, people):
    ed = people["ed"]
    ed.locked_until, ed.failed_sign_ins = utcnow() + timedelta(minutes=15), 0
    session.commit()
    as_admin(client, people)
    url = f"/admin/users/{ed.id}"
    assert "Locked until" in client.get(url).get_data(as_text=True)
    assert "locked until" in client.get("/admin/users?state=locked").get_data(as_text=True)
    assert post_form(client, url + "/unlock", {}, url).status_code == 302
    session.expire_all()
    assert ed.locked_until is None
    sign_in(client, ed.email)  # at once


def test_an_admin_sets_an_organisations_org_ids_and_a_bad_one_is_named(client, session, people):
    lio = people["ed"].organisation
    as_admin(client, people)
    url = f"/admin/organisations/{lio.id}"
    sent = {"org_ids": "gb-chc-1234567; GB-COH-1234567"}
    assert post_form(client, url + "/org-ids", sent, url).status_code == 302
    session.expire_all()
    assert lio.org_ids == ["GB-CHC-1234567", "GB-COH-01234567"]
    assert 'value="GB-CHC-1234567; GB-COH-01234567"' in client.get(url).get_data(as_text=True)
    event = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "organisations"))
    assert [e.changes["org_ids"]["to"] for e in event] == [["GB-CHC-1234567", "GB-COH-01234567"]]
    bad = post_form(client, url + "/org-ids", {"org_ids": "GB-CHC-12X"}, url)
    assert bad.status_code == 422 and "GB-CHC-12X" in bad.get_data(as_text=True)
    session.expire_all()
    assert lio.org_ids == ["GB-CHC-1234567", "GB-COH-01234567"]


def test_organisations_list_trust_and_move_groups(client, session, people):
    two_wards(session)
    cvs, lio = people["tess"].organisation, people["ed"].organisation
    made = [make_group(session, f"Club {i}", (-2.05, 53.45), organisation=cvs) for i in range(3)]
    as_admin(client, people)
    listing = client.get("/admin/organisations").get_data(as_text=True)
    assert "Eastmere CVS (fictional)" in listing and "Small LIO" in listing
    url = f"/admin/organisations/{lio.id}"
    assert post_form(client, url + "/trust", {"trusted": "yes"}, url).status_code == 302
    session.expire_all()
    assert lio.trusted
    url = f"/admin/organisations/{cvs.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Club 0" in page and "tess@cvs.example" in page and "Groups (3)" in page
    ids = [made[0].id, made[1].id]
    token = csrf_token(client, url)
    asked = client.post(url + "/move", data={"ids": ids, "target": lio.id, "csrf_token": token})
    assert asked.status_code == 200 and "Move 2 groups to Small LIO?" in asked.get_data(
        as_text=True
    )
    done = client.post(
        url + "/move",
        data={"ids": ids, "target": lio.id, "confirmed": "yes", "csrf_token": token},
    )
    assert done.status_code == 302
    moved = session.scalars(
        select(CommunityGroup.name).where(CommunityGroup.organisation_id == lio.id)
    )
    assert sorted(moved) == ["Club 0", "Club 1"]
    assert len(session.scalars(select(AuditEvent).where(AuditEvent.action == "move")).all()) == 2


@pytest.mark.parametrize(
    ("data", "field"), [({"target": "lio"}, "ids"), ({"ids": "first"}, "target")]
)
def test_a_refused_move_names_the_field_and_moves_nothing(client, session, people, data, field):
    two_wards(session)
    cvs = people["tess"].organisation
    group = make_group(session, "Club", (-2.05, 53.45), organisation=cvs)
    as_admin(client, people)
    values = {"target": people["ed"].organisation_id, "ids": group.id}
    data = {k: values[k] for k in data}
    url = f"/admin/organisations/{cvs.id}"
    response = post_form(client, url + "/move", data, url)
    assert response.status_code == 422
    assert f'href="#{field}"' in response.get_data(as_text=True)
    session.expire_all()
    assert group.organisation_id == cvs.id


def test_the_audit_page_filters_by_who_action_and_dates(client, session, people):
    as_admin(client, people)
    ed = people["ed"]
    url = f"/admin/users/{ed.id}"
    post_form(client, url + "/change", {"role": "admin", "organisation": ed.organisation_id}, url)
    accounts.create_token(session, ed, "from a command")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "2 events" in page and "admin@council.example" in page
    mine = client.get("/admin/audit?who=admin%40council.example").get_data(as_text=True)
    assert "1 event" in mine and "editor → admin" in mine
    assert "1 event" in client.get("/admin/audit?who=system").get_data(as_text=True)
    assert "1 event" in client.get("/admin/audit?action=change").get_data(as_text=True)
    today = utcnow().date().isoformat()
    assert "2 events" in client.get(f"/admin/audit?from={today}&to={today}").get_data(as_text=True)
    assert "0 events" in client.get("/admin/audit?to=2001-01-01").get_data(as_text=True)
    user_page = client.get(f"/admin/audit?entity=users&entity_id={ed.id}").get_data(as_text=True)
    assert "1 event" in user_page


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("from=yesterday", "from"),
        ("from=2026-02-01&to=2026-01-01", "to"),
        ("who=nobody%40example.org", "who"),
        ("action=drop%20table;", "action"),
        ("page=x", "page"),
    ],
)
def test_a_bad_audit_filter_is_a_400_naming_it(client, people, query, name):
    as_admin(client, people)
    response = client.get("/admin/audit?" + query, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert name in response.get_json()["error"]["fields"]


TOKEN = re.compile(r'id="token-value" readonly value="(cm_[^"]+)"')


def test_a_person_makes_a_token_seen_once_and_revokes_it(client, session, people):
    two_wards(session)
    sign_in(client, people["ed"].email)
    assert "You have no tokens" in client.get("/account/tokens").get_data(as_text=True)
    made = post_form(client, "/account/tokens", {"label": "QGIS"})
    assert made.status_code == 200 and "no-store" in made.headers["Cache-Control"]
    token = TOKEN.search(made.get_data(as_text=True)).group(1)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/groups?status=pending", headers=headers).status_code == 200
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert token not in listing and "QGIS" in listing
    row = session.scalar(select(ApiToken))
    revoke = f"/account/tokens/{row.id}/revoke"
    assert post_form(client, revoke, {}, "/account/tokens").status_code == 302
    assert client.get("/api/v1/groups?status=pending", headers=headers).status_code == 401
    assert "revoked" in client.get("/account/tokens").get_data(as_text=True)
    tokens = select(AuditEvent).where(AuditEvent.entity_type == "api_tokens")
    events = session.scalars(tokens.order_by(AuditEvent.id))
    assert [(e.action, e.user_id) for e in events] == [
        ("create", people["ed"].id),
        ("revoke", people["ed"].id),
    ]


def test_a_token_needs_a_label_and_others_tokens_cannot_be_revoked(client, session, people):
    sign_in(client, people["ed"].email)
    refused = post_form(client, "/account/tokens", {"label": " "})
    assert refused.status_code == 422 and 'href="#label"' in refused.get_data(as_text=True)
    assert session.scalar(select(ApiToken)) is None
    make_token(session, people["tess"])
    theirs = session.scalar(select(ApiToken))
    response = post_form(client, f"/account/tokens/{theirs.id}/revoke", {}, "/account/tokens")
    assert response.status_code == 404
    session.expire_all()
    assert theirs.revoked_at is None
    assert session.scalar(select(User.id).where(User.email == "tess@cvs.example"))
