"""Who is asking: the signed-in user of a session, bearer tokens, role checks and CSRF.

Pages sign people in with a session cookie and every form carries a CSRF token; the JSON API
never reads the cookie, only `Authorization: Bearer <token>`, so it needs no CSRF token.
"""

import functools
import hashlib
import hmac
import secrets

from flask import (
    redirect,
    request,
    session,
    url_for,
)

from mapper.core import accounts
from mapper.errors import BadRequest, Forbidden, Unauthorised
from mapper.store import db
from mapper.store.models import User

CSRF_FIELD = "csrf_token"


SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


def _session_stamp(user):
    """Ties a signed-in session to the password: changing it signs every session out."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def start_session(user):
    """Sign the user in on a fresh session cookie."""
    session.clear()
    session.permanent = True
    session["user_id"], session["stamp"] = user.id, _session_stamp(user)
    session["epoch"] = user.session_epoch


def end_session():
    """Sign out: refuse this session cookie (and the user's others) from now on, here too."""
    user = current_user()
    if user is not None:
        accounts.end_sessions(db.get_session(), user)
    session.clear()


def current_user():
    """Return the signed-in user of this request (from the session cookie), or None."""
    user_id = session.get("user_id")
    if user_id is None:
        return None
    # No cache on `g`: the session's identity map already makes repeated calls cheap.
    user = db.get_session().get(User, user_id)
    if (
        user is None
        or not user.active
        or session.get("stamp") != _session_stamp(user)
        or session.get("epoch") != user.session_epoch
    ):
        return None
    return user


def sign_in_required(view):
    """Send signed-out visitors of a view to the sign-in page, then back."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_user() is None:
            return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    """Let only signed-in administrators use a view (403 for others)."""

    @functools.wraps(view)
    @sign_in_required
    def wrapped(*args, **kwargs):
        if current_user().role != "admin":
            raise Forbidden("This page is for administrators.")
        return view(*args, **kwargs)

    return wrapped


# CSRF for every form -----------------------------------------------------------------------


def csrf_token():
    """Return this session's CSRF token, making one on first use."""
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return session[CSRF_FIELD]


def _check_csrf():
    # The API reads no cookie, so a forged cross-site request carries no credentials; an
    # unknown URL is left to routing to answer 404 or 405.
    if request.method in SAFE_METHODS or request.blueprint == "api" or request.url_rule is None:
        return
    sent = request.form.get(CSRF_FIELD, "")
    expected = session.get(CSRF_FIELD)
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise BadRequest(
            "The form has expired or did not come from this site. Go back, reload the page "
            "and try again.",
            fields={CSRF_FIELD: "is missing or does not match"},
        )


# Bearer tokens for the API -----------------------------------------------------------------


def bearer_user(session_):
    """Return the user of the request's bearer token, None without one; 401 for a bad one."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorised("Send the token as 'Authorization: Bearer <token>'.")
    user = accounts.token_user(session_, token.strip())
    if user is None:
        raise Unauthorised("The token is not valid or has been revoked.")
    return user


def require_bearer_user(session_):
    """Return the user of the request's bearer token; 401 without one."""
    user = bearer_user(session_)
    if user is None:
        raise Unauthorised("Send 'Authorization: Bearer <token>' (see mapper create-token).")
    return user


def init_app(app):
    """Check CSRF on every form and give templates the token and the user."""
    app.before_request(_check_csrf)
    app.jinja_env.globals.update(csrf_token=csrf_token, current_user=current_user)
