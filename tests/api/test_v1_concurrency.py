"""Concurrent POSTs against a live server, on both backends: writers queue, none is refused."""

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from mapper.store.models import CommunityGroup, IdempotencyKey
from tests.conftest import BACKENDS
from tests.factories import make_token, make_user, two_wards

CLIENTS = 20
# SQLite lets one writer in at a time: every write transaction begins IMMEDIATE, so the
# others wait their turn (busy timeout) instead of failing with "database is locked".
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", BACKENDS, indirect=True)]


def post_all(url, bodies, headers):
    """POST every body at the same moment from its own thread; return (status, JSON) pairs."""
    start = threading.Barrier(len(bodies))

    def post(body):
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **headers},
            method="POST",
        )
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(post, bodies))


def group_body(i):
    # Spread over West Ward, more than 250 m apart, so none is a likely duplicate of another.
    lon, lat = -2.095 + (i % 5) * 0.02, 53.405 + (i // 5) * 0.02
    return {"name": f"Concurrent group {i}", "categories": ["faith"], "lon": lon, "lat": lat}


def test_twenty_concurrent_posts_of_distinct_groups_are_all_stored(live_server, session):
    two_wards(session)
    headers = make_token(session, make_user(session, "ed@lio.example", trusted=True))
    answers = post_all(
        f"{live_server}/api/v1/groups", [group_body(i) for i in range(CLIENTS)], headers
    )
    assert [status for status, _ in answers] == [201] * CLIENTS, answers
    assert len({body["id"] for _, body in answers}) == CLIENTS
    names = session.scalars(select(CommunityGroup.name)).all()
    assert sorted(names) == sorted(f"Concurrent group {i}" for i in range(CLIENTS))


def test_twenty_concurrent_posts_with_one_idempotency_key_store_one_group(live_server, session):
    two_wards(session)
    headers = make_token(session, make_user(session, "ed@lio.example", trusted=True))
    headers["Idempotency-Key"] = "one-registration"
    answers = post_all(f"{live_server}/api/v1/groups", [group_body(7)] * CLIENTS, headers)
    assert [status for status, _ in answers] == [201] * CLIENTS, answers
    assert len({body["id"] for _, body in answers}) == 1
    assert session.scalar(select(func.count()).select_from(CommunityGroup)) == 1
    assert session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1
