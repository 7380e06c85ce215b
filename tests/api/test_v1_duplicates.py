"""The duplicate check: it names only groups the caller may see, and holds under races."""

import pytest
from sqlalchemy import func, select

from mapper.store.models import CommunityGroup
from tests.api.test_v1_concurrency import CLIENTS, post_all
from tests.factories import four_users, make_group, make_token, make_user, two_wards

WEST = (-2.05, 53.45)
BODY = {"name": "Allotment Society", "categories": ["faith"], "lon": WEST[0], "lat": WEST[1]}


@pytest.fixture
def users(session):
    return four_users(session)


def pending_group_of(session, user):
    return make_group(
        session, "Allotment Society", WEST, status="pending", organisation_id=user.organisation_id
    )


@pytest.mark.parametrize(
    ("owner", "caller", "status"),
    [
        ("editor", "other", 201),  # another organisation's pending group: not theirs to know
        ("editor", "trusted", 201),
        ("editor", "editor", 409),  # their own organisation's
        ("editor", "admin", 409),  # administrators see every group
    ],
)
def test_a_pending_group_is_a_duplicate_only_for_those_who_may_see_it(
    client, session, users, owner, caller, status
):
    hidden = pending_group_of(session, users[owner])
    response = client.post("/api/v1/groups", json=BODY, headers=make_token(session, users[caller]))
    assert response.status_code == status
    text = response.get_data(as_text=True)
    if status == 409:
        assert f"id {hidden.id}" in text
    else:
        assert f"id {hidden.id}," not in text and response.get_json()["id"] != hidden.id


def test_an_active_group_is_a_duplicate_for_everyone(client, session, users):
    active = make_group(session, "Allotment Society", WEST)
    response = client.post("/api/v1/groups", json=BODY, headers=make_token(session, users["other"]))
    assert response.status_code == 409
    assert f"id {active.id}" in response.get_json()["error"]["fields"]["name"]


@pytest.mark.slow
def test_twenty_identical_concurrent_posts_store_one_group(live_server, session):
    two_wards(session)
    headers = make_token(session, make_user(session, "ed@lio.example", trusted=True))
    answers = post_all(f"{live_server}/api/v1/groups", [BODY] * CLIENTS, headers)
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [409] * (CLIENTS - 1), answers
    assert session.scalar(select(func.count()).select_from(CommunityGroup)) == 1
    created = next(body for status, body in answers if status == 201)
    for status, body in answers:
        if status == 409:
            assert body["error"]["code"] == "duplicate"
            assert f"id {created['id']}" in body["error"]["fields"]["name"]
