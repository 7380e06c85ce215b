"""Sign-in under attack: counted guesses, same-site `next`, sign-out on the server, headers."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from mapper.core import accounts
from mapper.store.models import User
from tests.factories import PASSWORD, make_group, make_user, two_wards
from tests.forms import CSRF, csrf_token, post_form, sign_in

GUESSES = 20


def test_twenty_parallel_wrong_passwords_check_at_most_the_limit(
    live_server, session, app, monkeypatch
):
    user = make_user(session, "ed@example.org")
    checked, real = [], accounts.check_password_hash

    def counting(hashed, password):
        if hashed == user.password_hash:
            checked.append(password)
        return real(hashed, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting)
    app.config["SESSION_COOKIE_SECURE"] = False  # requests keeps Secure cookies to HTTPS
    clients = [requests.Session() for _ in range(GUESSES)]
    tokens = [CSRF.search(c.get(f"{live_server}/sign-in").text).group(1) for c in clients]
    start = threading.Barrier(GUESSES)

    def guess(i):
        start.wait()
        form = {"email": user.email, "password": f"guess {i}", "csrf_token": tokens[i]}
        return clients[i].post(f"{live_server}/sign-in", data=form, allow_redirects=False)

    with ThreadPoolExecutor(GUESSES) as pool:
        answers = list(pool.map(guess, range(GUESSES)))
    assert [a.status_code for a in answers] == [422] * GUESSES
    assert len(checked) <= app.config["SIGN_IN_MAX_FAILURES"]
    session.expire_all()
    assert session.get(User, user.id).locked_until is not None
    # locked: even the right password is not looked at
    assert accounts.authenticate(session, user.email, PASSWORD) is None
    assert len(checked) <= app.config["SIGN_IN_MAX_FAILURES"]


def test_a_right_password_resets_the_count(session, app):
    user = make_user(session, "ed@example.org")
    for _ in range(app.config["SIGN_IN_MAX_FAILURES"] - 1):
        assert accounts.authenticate(session, user.email, "guess") is None
    assert accounts.authenticate(session, user.email, PASSWORD) == user
    session.refresh(user)
    assert user.failed_sign_ins == 0 and user.locked_until is None


@pytest.mark.parametrize(
    "next_url",
    [
        "/\t/evil.example",  # ?next=/%09/evil.example: browsers drop the tab
        "/\n/evil.example",
        "/\r\n/evil.example",
        "/groups/mine\nSet-Cookie: x=1",
        "/\\evil.example",
        "//evil.example",
        "/ /evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "evil.example",
        "",
    ],
)
def test_sign_in_falls_back_to_the_home_page_for_any_other_site(client, session, next_url):
    make_user(session, "ed@example.org")
    response = client.post(
        "/sign-in",
        query_string={"next": next_url},
        data={"email": "ed@example.org", "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_sign_in_keeps_a_path_of_this_site_with_its_query(client, session):
    make_user(session, "ed@example.org")
    response = client.post(
        "/sign-in",
        query_string={"next": "/groups/mine?status=pending&q=a%20b"},
        data={"email": "ed@example.org", "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.headers["Location"] == "/groups/mine?status=pending&q=a%20b"


def test_a_cookie_copied_before_signing_out_is_refused_afterwards(app, client, session):
    make_user(session, "ed@example.org")
    sign_in(client, "ed@example.org")
    assert client.get("/groups/mine").status_code == 200
    copied = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    post_form(client, "/sign-out", {}, form_url="/")
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], copied)
    response = thief.get("/groups/mine")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    # signing in again works, on a fresh session
    sign_in(client, "ed@example.org")
    assert client.get("/groups/mine").status_code == 200


def test_changing_the_password_still_ends_every_session(app, client, session):
    user = make_user(session, "ed@example.org")
    sign_in(client, user.email)
    user.password_hash = accounts.hash_password("a brand new password")
    session.commit()
    assert client.get("/groups/mine").status_code == 302


PAGES = ["/", "/sign-in", "/api/v1/groups", "/api/openapi.json", "/healthz", "/nowhere"]


@pytest.mark.parametrize("url", PAGES)
def test_every_answer_carries_the_security_headers(client, session, url):
    response = client.get(url)
    headers = response.headers
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_map_pages_inline_script_carries_the_policy_nonce(client, session):
    two_wards(session)
    response = client.get("/")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    page = response.get_data(as_text=True)
    assert f'<script nonce="{nonce}">' in page
    assert "<script>" not in page and " style=" not in page
    # A page kept for the data version is sent again as it was: its policy keeps the nonce
    # its script carries (the page's content, injected text included, is fixed by then).
    again = client.get("/")
    assert again.headers.get("X-Cache") == "hit"
    assert f"'nonce-{nonce}'" in again.headers["Content-Security-Policy"]
    assert f'<script nonce="{nonce}">' in again.get_data(as_text=True)
    # A page made anew (the data changed) has a nonce of its own.
    make_group(session, "New club", (-2.05, 53.45))
    fresh = client.get("/")
    assert fresh.headers.get("X-Cache") == "miss"
    assert nonce not in fresh.headers["Content-Security-Policy"]


def test_no_hsts_when_cookies_are_not_secure(database_url, seeded_categories):
    from tests.conftest import make_app

    plain = make_app(database_url, SESSION_COOKIE_SECURE=False)
    response = plain.test_client().get("/sign-in")
    assert "Strict-Transport-Security" not in response.headers
    plain.extensions["mapper.db"].dispose()
