"""Rate limits: sign-in and the write API answer 429 with Retry-After past their limits."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from mapper.store.models import RateLimitCounter
from tests.conftest import make_app
from tests.factories import make_token, make_user, two_wards
from tests.forms import CSRF, csrf_token

TIGHT = {"RATE_LIMIT_SIGN_IN": "3 per minute", "RATE_LIMIT_API_WRITE": "4 per minute"}


@pytest.fixture
def tight_app(app):
    app.config.update(TIGHT)
    return app


def test_sign_in_past_its_limit_is_429_with_retry_after(tight_app, session):
    client = tight_app.test_client()
    make_user(session, "ed@example.org")
    token = csrf_token(client)
    form = {"email": "ed@example.org", "password": "wrong guess", "csrf_token": token}
    statuses = [client.post("/sign-in", data=form).status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]
    refused = client.post("/sign-in", data=form)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert "Too many" in refused.get_data(as_text=True)
    assert client.get("/sign-in").status_code == 200  # the form itself stays readable


@pytest.mark.parametrize("path", ["/forgot-password", "/reset-password/" + "A" * 43])
def test_the_password_pages_have_their_own_sign_in_limit(tight_app, session, path):
    client = tight_app.test_client()
    form = {"email": "ed@example.org", "csrf_token": csrf_token(client)}
    statuses = [client.post(path, data=form).status_code for _ in range(4)]
    assert 429 not in statuses[:3] and statuses[3] == 429
    assert client.post("/sign-in", data=form).status_code != 429  # a count of its own


def test_the_write_api_past_its_limit_is_429_json_with_retry_after(tight_app, session):
    client = tight_app.test_client()
    two_wards(session)
    headers = make_token(session, make_user(session, "ed@lio.example", trusted=True))
    statuses = []
    for i in range(5):
        body = {
            "name": f"Group {i}",
            "categories": ["faith"],
            "lon": -2.09 + i * 0.01,
            "lat": 53.45,
        }
        statuses.append(client.post("/api/v1/groups", json=body, headers=headers).status_code)
    assert statuses == [201] * 4 + [429]
    refused = client.patch("/api/v1/groups/1", json={"name": "x"}, headers=headers)
    assert refused.status_code == 429  # one budget for every write
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert "Too many" in refused.get_json()["error"]["message"]
    assert int(refused.headers["Retry-After"]) > 0
    assert client.get("/api/v1/groups").status_code == 200  # reading is not limited


def test_the_counters_are_shared_by_every_app_on_the_database(database_url, app, session):
    """Two apps stand for two workers: the limit holds across both."""
    make_user(session, "ed@example.org")
    workers = [make_app(database_url, **TIGHT) for _ in range(2)]
    statuses = []
    for i in range(4):
        client = workers[i % 2].test_client()
        form = {"email": "ed@example.org", "password": "guess", "csrf_token": csrf_token(client)}
        statuses.append(client.post("/sign-in", data=form).status_code)
    assert statuses == [422, 422, 422, 429]
    assert session.scalar(select(func.count()).select_from(RateLimitCounter)) >= 1
    for worker in workers:
        worker.extensions["mapper.db"].dispose()


def test_parallel_sign_ins_are_counted_exactly(live_server, tight_app, session):
    tight_app.config["RATE_LIMIT_SIGN_IN"] = "5 per minute"
    tight_app.config["SESSION_COOKIE_SECURE"] = False
    make_user(session, "ed@example.org")
    clients = [requests.Session() for _ in range(12)]
    tokens = [CSRF.search(c.get(f"{live_server}/sign-in").text).group(1) for c in clients]
    start = threading.Barrier(len(clients))

    def attempt(i):
        start.wait()
        form = {"email": "ed@example.org", "password": "guess", "csrf_token": tokens[i]}
        return clients[i].post(f"{live_server}/sign-in", data=form).status_code

    with ThreadPoolExecutor(len(clients)) as pool:
        statuses = sorted(pool.map(attempt, range(len(clients))))
    assert statuses == [422] * 5 + [429] * 7
