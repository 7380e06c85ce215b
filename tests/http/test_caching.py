"""HTTP caching: ETags from the stored data version, 304s, Cache-Control, the kept answers."""

import re

import pytest
from sqlalchemy import text

from mapper.core import analysis
from mapper.store import db, version
from tests.conftest import SECRET, make_app
from tests.factories import four_users, make_group, make_token, make_user, two_wards
from tests.forms import sign_in

WEST = (-2.05, 53.45)
PUBLIC_READS = [
    "/",
    "/wards/E05000002",
    "/map/figures.json",
    "/map/groups.json",
    "/map/wards.geojson",
    "/gaps.geojson",
    "/gaps.csv",
    "/api/v1/groups",
    "/api/v1/wards",
    "/ogc/collections/groups/items?f=json",
    "/ogc/collections?f=html",
    "/openreferral/services",
]


@pytest.fixture
def second_app(app):
    """Another app on the same database: a second worker or instance."""
    other = make_app(app.config["DATABASE_URL"], SECRET_KEY=SECRET)
    yield other
    other.extensions["mapper.db"].dispose()


@pytest.mark.parametrize("url", PUBLIC_READS)
def test_every_public_read_has_a_strong_etag_and_answers_304_when_unchanged(client, session, url):
    two_wards(session)
    make_group(session, "Allotment Society", WEST)
    first = client.get(url)
    assert first.status_code == 200, first.get_data(as_text=True)[:300]
    tag = first.headers["ETag"]
    assert tag.startswith('"v') and not tag.startswith("W/")
    assert first.headers["Cache-Control"].startswith("public")
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.headers["ETag"] == tag
    assert again.get_data() == b""
    kept = client.get(url)
    assert kept.headers["X-Cache"] == "hit" and kept.get_data() == first.get_data()
    assert kept.headers["ETag"] == tag


def test_pages_revalidate_and_data_may_be_reused_for_a_minute(client, session):
    two_wards(session)
    assert client.get("/").headers["Cache-Control"] == "public, no-cache"
    assert client.get("/map/figures.json").headers["Cache-Control"] == "public, max-age=60"


def test_a_write_through_another_app_changes_the_etag_and_the_answer(
    app, second_app, client, session
):
    users = four_users(session)
    token = make_token(session, users["admin"])
    make_group(session, "Allotment Society", WEST)
    first = client.get("/map/groups.json")
    tag = first.headers["ETag"]
    assert client.get("/map/groups.json", headers={"If-None-Match": tag}).status_code == 304

    # A trusted admin registers a group through the other instance's API.
    body = {"name": "Repair Cafe", "categories": ["faith"], "lon": -2.06, "lat": 53.46}
    created = second_app.test_client().post("/api/v1/groups", json=body, headers=token)
    assert created.status_code == 201

    session.rollback()  # the test's session is the client's too: end its read transaction
    fresh = client.get("/map/groups.json", headers={"If-None-Match": tag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != tag
    names = [row[3] for row in fresh.get_json()["rows"]]
    assert "Repair Cafe" in names


def test_every_commit_that_writes_a_record_bumps_the_version_once(session):
    two_wards(session)
    before = version.current(session)
    session.rollback()
    make_group(session, "Allotment Society", WEST)
    assert version.current(session) == before + 1
    session.rollback()
    # A read, and a write of nothing public (a user's token), leave it alone.
    session.execute(text("SELECT 1"))
    session.commit()
    user = make_user(session, "ed@lio.example")
    after_user = version.current(session)
    session.rollback()
    make_token(session, user)
    assert version.current(session) == after_user


def test_a_rolled_back_write_does_not_bump_the_version(session):
    two_wards(session)
    before = version.current(session)
    make_group(session, "Temp", WEST)
    session.rollback()
    after = version.current(session)
    assert after == before + 1  # the committed group did; now roll one back
    from mapper.store.models import CommunityGroup

    session.get(CommunityGroup, 1)
    session.execute(text("UPDATE community_groups SET name = 'X'"))
    session.rollback()
    assert version.current(session) == after


def test_signed_in_pages_are_never_cached_publicly(app, client, session):
    users = four_users(session)
    sign_in(client, users["editor"].email)
    for url in ("/", "/map/figures.json", "/groups/mine"):
        response = client.get(url)
        assert response.headers["Cache-Control"] == "private, no-store", url
        assert "ETag" not in response.headers and "X-Cache" not in response.headers


def test_an_api_read_with_a_token_is_private(client, session):
    users = four_users(session)
    response = client.get("/api/v1/groups", headers=make_token(session, users["editor"]))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in response.headers


def test_the_gap_analysis_is_kept_per_version_and_fresh_after_a_write_elsewhere(
    app, second_app, session
):
    two_wards(session)
    make_group(session, "Allotment Society", WEST)
    first = analysis.compute_gaps(session)
    session.rollback()
    kept = analysis.compute_gaps(session)
    assert kept is not first and kept.drop(columns="geometry").equals(
        first.drop(columns="geometry")
    )
    cache = app.extensions["mapper.db"].cache
    assert any(key[0] == "gaps" for key in cache._entries)
    session.rollback()
    with second_app.app_context():
        make_group(db.get_session(), "Repair Cafe", (-2.06, 53.46))
    fresh = analysis.compute_gaps(session)
    assert fresh.set_index("ward_code")["groups"].to_dict() == {"E05000001": 0, "E05000002": 2}


def test_a_write_in_the_same_transaction_is_seen_by_the_analysis(session):
    two_wards(session)
    assert analysis.compute_gaps(session)["groups"].sum() == 0
    group = make_group(session, "Allotment Society", WEST)
    group.name = "Allotment Society (renamed)"
    session.flush()
    assert analysis.compute_gaps(session)["groups"].sum() == 1
    session.rollback()


def test_a_kept_page_is_sent_with_the_policy_that_allows_its_script(client, session):
    two_wards(session)
    first = client.get("/")
    kept = client.get("/")
    assert kept.headers["X-Cache"] == "hit" and kept.get_data() == first.get_data()
    nonce = re.search(r'<script nonce="([^"]+)"', kept.get_data(as_text=True)).group(1)
    assert f"'nonce-{nonce}'" in kept.headers["Content-Security-Policy"]
