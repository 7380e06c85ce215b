"""Sign-in, roles, CSRF and API tokens."""

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from mapper.core import accounts
from mapper.errors import Conflict, Invalid
from mapper.store.models import ApiToken, Organisation, User, utcnow
from tests.factories import PASSWORD, make_token, make_user, two_wards
from tests.forms import csrf_token, post_form, sign_in, sign_out


def test_passwords_are_stored_as_salted_scrypt_hashes(session):
    user = accounts.create_user(session, "Ed@Example.org ", PASSWORD, "editor", "Testshire CVS")
    assert user.email == "ed@example.org"
    assert user.password_hash.startswith("scrypt:") and PASSWORD not in user.password_hash
    other = accounts.create_user(session, "ann@example.org", PASSWORD, "editor", "Testshire CVS")
    assert other.password_hash != user.password_hash  # salted
    assert accounts.authenticate(session, "ED@example.org", PASSWORD) == user


def test_create_user_creates_the_organisation_once_and_marks_it_trusted(session):
    accounts.create_user(session, "a@example.org", PASSWORD, "editor", "Testshire CVS")
    accounts.create_user(session, "b@example.org", PASSWORD, "admin", "Testshire CVS", trusted=True)
    organisations = session.scalars(select(Organisation)).all()
    assert [(o.name, o.trusted) for o in organisations] == [("Testshire CVS", True)]


@pytest.mark.parametrize(
    ("email", "password", "role", "organisation", "field"),
    [
        ("not-an-email", PASSWORD, "editor", "CVS", "email"),
        ("a@example.org", "short", "editor", "CVS", "password"),
        ("a@example.org", PASSWORD, "owner", "CVS", "role"),
        ("a@example.org", PASSWORD, "editor", "  ", "organisation"),
    ],
)
def test_create_user_names_the_bad_field(session, email, password, role, organisation, field):
    with pytest.raises(Invalid) as error:
        accounts.create_user(session, email, password, role, organisation)
    assert field in error.value.fields
    assert session.scalar(select(User)) is None


def test_create_user_refuses_a_second_user_with_the_same_email(session):
    accounts.create_user(session, "a@example.org", PASSWORD, "editor", "CVS")
    with pytest.raises(Conflict):
        accounts.create_user(session, "A@example.org", PASSWORD, "editor", "CVS")


def test_sign_in_and_out(client, session):
    make_user(session, "ed@example.org")
    assert client.get("/groups/new").status_code == 302
    response = sign_in(client, "ed@example.org")
    assert response.headers["Location"] == "/"
    assert client.get("/groups/new").status_code == 200
    sign_out(client)
    response = client.get("/groups/new")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")


def test_session_cookie_is_secure_http_only_and_same_site(client, session):
    make_user(session, "ed@example.org")
    response = sign_in(client, "ed@example.org")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("mapper_session=")
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Expires="):
        assert flag in cookie


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("ed@example.org", "wrong password!"),
        ("nobody@example.org", PASSWORD),
        ("ed@example.org", ""),
        ("", PASSWORD),
    ],
)
def test_a_failed_sign_in_shows_the_form_again_with_a_message(client, session, email, password):
    make_user(session, "ed@example.org")
    response = post_form(client, "/sign-in", {"email": email, "password": password})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'class="field-error"' in page and 'aria-invalid="true"' in page
    assert client.get("/groups/new").status_code == 302


def test_repeated_failed_sign_ins_lock_the_account_for_a_while(client, session, app):
    user = make_user(session, "ed@example.org")
    for _ in range(app.config["SIGN_IN_MAX_FAILURES"]):
        response = post_form(client, "/sign-in", {"email": user.email, "password": "guess"})
        assert response.status_code == 422
    session.refresh(user)
    locked_for = accounts._aware(user.locked_until) - utcnow()
    assert timedelta(minutes=14) < locked_for <= timedelta(minutes=15)
    # the right password does not help while the account is locked
    response = post_form(client, "/sign-in", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 422
    user.locked_until = utcnow() - timedelta(seconds=1)
    session.commit()
    sign_in(client, user.email)
    session.refresh(user)
    assert user.failed_sign_ins == 0 and user.locked_until is None


def test_a_deactivated_user_cannot_sign_in_and_is_signed_out(client, session):
    user = make_user(session, "ed@example.org")
    sign_in(client, user.email)
    user.active = False
    session.commit()
    assert client.get("/groups/new").status_code == 302
    response = post_form(client, "/sign-in", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [
        ("/groups/mine", "/groups/mine"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_sign_in_only_returns_to_pages_of_this_site(client, session, next_url, lands_on):
    make_user(session, "ed@example.org")
    token = csrf_token(client)
    response = client.post(
        "/sign-in",
        query_string={"next": next_url},
        data={"email": "ed@example.org", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == lands_on


def web_form_routes(app):
    """Every route that changes something through a form (all but the JSON API)."""
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and not rule.endpoint.startswith("api.")
    )


def test_every_form_refuses_a_post_without_the_csrf_token(app, client, session):
    admin = make_user(session, "admin@example.org", role="admin", trusted=True)
    sign_in(client, admin.email)
    routes = web_form_routes(app)
    assert {
        "/sign-in",
        "/sign-out",
        "/groups/new",
        "/moderation/groups/<int:group_id>",
        "/snapshots",
        "/decisions/new",
        "/decisions/<int:decision_id>/settle",
    } <= set(routes)
    for rule in routes:
        url = re.sub(r"<int:[a-z_]+>", "1", rule)
        for data in ({}, {"csrf_token": "forged"}):
            response = client.post(url, data=data)
            assert response.status_code == 400, url
            assert "csrf_token" in response.get_data(as_text=True), url
    assert client.get("/groups/new").status_code == 200  # still signed in: nothing happened


def test_roles_editors_cannot_moderate(client, session):
    make_user(session, "ed@example.org")
    sign_in(client, "ed@example.org")
    assert client.get("/moderation").status_code == 403
    assert client.get("/groups/mine").status_code == 200


def test_api_tokens_are_stored_hashed_and_can_be_revoked(client, session):
    two_wards(session)
    user = make_user(session, "ed@example.org")
    headers = make_token(session, user)
    token = headers["Authorization"].removeprefix("Bearer ")
    stored = session.scalar(select(ApiToken))
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in stored.token_hash
    assert client.get("/api/v1/groups?status=pending", headers=headers).status_code == 200
    assert accounts.revoke_tokens(session, user) == 1
    response = client.get("/api/v1/groups?status=pending", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer cm_not-a-real-token", "Bearer ", "Basic ZWQ6cGFzcw==", "cm_token-without-scheme"],
)
def test_a_bad_authorization_header_is_401_even_for_reading(client, header):
    response = client.get("/api/v1/groups", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorised"


def test_the_api_ignores_the_session_cookie(client, session):
    two_wards(session)
    make_user(session, "admin@example.org", role="admin", trusted=True)
    sign_in(client, "admin@example.org")
    response = client.post("/api/v1/groups", json={"name": "Cookie Club"})
    assert response.status_code == 401


@pytest.mark.parametrize(("raw", "secure"), [("0", False), ("false", False), ("1", True)])
def test_secure_cookies_can_be_turned_off_for_plain_http_deployments(raw, secure):
    from mapper import config

    settings = config.from_environment({"SESSION_COOKIE_SECURE": raw})
    assert settings["SESSION_COOKIE_SECURE"] is secure
    assert config.DEFAULTS["SESSION_COOKIE_SECURE"] is True
