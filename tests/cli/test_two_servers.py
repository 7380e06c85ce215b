"""Two `mapper serve` instances side by side on one database behave as one service: a sign-in
lockout counted on both, an idempotent POST sent to both at once stored once, a session begun
on one valid on the other, and each one's writes read at once on the other."""

import http.cookiejar
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from mapper.store.models import CommunityGroup
from tests.cli.test_serve import gunicorn
from tests.conftest import BACKENDS
from tests.factories import PASSWORD, make_token, make_user, two_wards

pytestmark = pytest.mark.slow
SETTINGS = {"SESSION_COOKIE_SECURE": "false", "SERVER_WORKERS": "1", "SERVER_THREADS": "4"}


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """Show a redirect as it is (a 302), for telling a sign-in from a refusal."""

    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A person's cookie jar, used against either server."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirects()
        )

    def open(self, url, form=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(url, data=data, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def sign_in(self, base, email, password):
        """Fetch the form (for its CSRF token) and post it; return the status."""
        _, page = self.open(f"{base}/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        form = {"csrf_token": token, "email": email, "password": password}
        return self.open(f"{base}/sign-in", form)[0]


@pytest.fixture
def two_servers(app, tmp_path):
    """Two gunicorn servers on the app's database; yields their base URLs."""
    url = app.config["DATABASE_URL"]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        gunicorn(url, tmp_path / "a", **SETTINGS) as (a, _),
        gunicorn(url, tmp_path / "b", **SETTINGS) as (b, _),
    ):
        yield a, b


def test_a_lockout_counts_failures_on_both_servers_and_holds_on_both(two_servers, session):
    a, b = two_servers
    make_user(session, "ed@lio.example")
    browser = Browser()
    for attempt in range(5):  # SIGN_IN_MAX_FAILURES, alternating between the servers
        assert browser.sign_in((a, b)[attempt % 2], "ed@lio.example", "wrong") == 422
    assert browser.sign_in(a, "ed@lio.example", PASSWORD) == 422  # locked
    assert browser.sign_in(b, "ed@lio.example", PASSWORD) == 422  # locked there too


def test_a_session_begun_on_one_server_is_valid_on_the_other(two_servers, session):
    a, b = two_servers
    make_user(session, "ed@lio.example")
    browser = Browser()
    assert browser.sign_in(a, "ed@lio.example", PASSWORD) == 302
    status, page = browser.open(f"{b}/groups/mine")
    assert status == 200 and "Sign out" in page  # 302 to the sign-in page if not


# PostGIS only: on one SpatiaLite file two processes writing at the same moment can still
# fail (a 503 seen here; see the issue 12 notes), and several servers mean PostGIS anyway.
@pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgis"], indirect=True)
def test_one_idempotent_post_sent_to_both_servers_at_once_is_stored_once(two_servers, session):
    a, b = two_servers
    two_wards(session)
    headers = make_token(session, make_user(session, "ed@lio.example", trusted=True))
    headers |= {"Content-Type": "application/json", "Idempotency-Key": "same-key-both-servers"}
    body = json.dumps({"name": "Twice sent", "categories": ["faith"], "lon": -2.05, "lat": 53.45})
    start = threading.Barrier(2)

    def post(base):
        request = urllib.request.Request(
            f"{base}/api/v1/groups", data=body.encode(), headers=headers, method="POST"
        )
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.headers, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.headers, json.loads(error.read())

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(post, (a, b)))
    assert [status for status, _, _ in answers] == [201, 201], answers
    assert answers[0][2]["id"] == answers[1][2]["id"]
    replayed = sorted(h.get("Idempotent-Replayed", "") for _, h, _ in answers)
    assert replayed == ["", "true"]
    session.expire_all()
    count = session.scalar(select(func.count()).where(CommunityGroup.name == "Twice sent"))
    assert count == 1


def test_a_write_on_one_server_is_read_at_once_on_the_other(two_servers, session):
    a, b = two_servers
    two_wards(session)
    headers = make_token(session, make_user(session, "ed@lio.example", trusted=True))
    headers |= {"Content-Type": "application/json"}
    body = json.dumps({"name": "Seen on B", "categories": ["faith"], "lon": -2.05, "lat": 53.45})
    request = urllib.request.Request(
        f"{a}/api/v1/groups", data=body.encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        created = json.loads(response.read())
    with urllib.request.urlopen(f"{b}/api/v1/groups/{created['id']}", timeout=30) as response:
        assert json.loads(response.read())["properties"]["name"] == "Seen on B"
