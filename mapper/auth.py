"""Sign-in, roles and tokens: password hashing, the signed-in session, CSRF, bearer tokens.

Pages sign people in with a session cookie and every form carries a CSRF token; the JSON API
never reads the cookie, only `Authorization: Bearer <token>`, so it needs no CSRF token.
"""

import functools
import hashlib
import hmac
import re
import secrets
from datetime import UTC, timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from mapper import db, registry
from mapper.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound, Unauthorised
from mapper.models import ROLES, ApiToken, User, utcnow

auth = Blueprint("auth", __name__)

PASSWORD_METHOD = "scrypt"  # noqa: S105 - a method name; werkzeug's default: memory-hard, salted
MINIMUM_PASSWORD_LENGTH = 12
TOKEN_PREFIX = "cm_"  # noqa: S105 - makes leaked tokens easy to spot
CSRF_FIELD = "csrf_token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")
EMAIL_FORMAT = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SIGN_IN_FAILED = (
    "The email address or password is not right. After repeated failures an account is "
    "locked for a while."
)


def hash_password(password):
    return generate_password_hash(password, method=PASSWORD_METHOD)


@functools.cache
def _decoy_hash():
    """A hash to check unknown emails against, so that they take as long as known ones."""
    return hash_password(secrets.token_hex(16))


def normalise_email(email):
    return str(email).strip().lower()


def _aware(moment):
    """SQLite gives back naive datetimes; they were stored in UTC."""
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


# Use cases for the CLI: users and tokens --------------------------------------------------


def create_user(session, email, password, role, organisation, trusted=False):
    """Create a user in an organisation (created if needed); `trusted` marks the organisation."""
    email = normalise_email(email)
    errors = {}
    if not EMAIL_FORMAT.match(email) or len(email) > 254:
        errors["email"] = "is not an email address"
    if role not in ROLES:
        errors["role"] = "must be one of: " + ", ".join(ROLES)
    if len(password or "") < MINIMUM_PASSWORD_LENGTH:
        errors["password"] = f"must be at least {MINIMUM_PASSWORD_LENGTH} characters"
    if not (organisation or "").strip():
        errors["organisation"] = "is required"
    if errors:
        raise Invalid("The user is not valid: " + ", ".join(sorted(errors)) + ".", errors)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"There is already a user with the email {email}.", {"email": "is taken"})
    with db.transaction(session):
        org = registry.get_or_create_organisation(session, organisation.strip())
        if trusted:
            org.trusted = True
        user = User(email=email, password_hash=hash_password(password), role=role)
        user.organisation = org
        session.add(user)
        session.flush()
        changes = {"role": role, "organisation": org.name, "trusted": org.trusted}
        registry.record(session, "create", user, changes=changes)
    return user


def find_user(session, email):
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"There is no user with the email {normalise_email(email)}.")
    return user


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session, user, label=None):
    """Make a new API token for the user; return (ApiToken, the token). Only its hash is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.transaction(session):
        row = ApiToken(user_id=user.id, token_hash=_token_hash(token), label=label)
        session.add(row)
        session.flush()
        registry.record(session, "create", row, changes={"user_id": user.id, "label": label})
    return row, token


def user_tokens(session, user):
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)))


def revoke_tokens(session, user, token_id=None):
    """Revoke one of the user's tokens, or all of them; return how many were revoked."""
    query = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if token_id is not None:
        query = query.where(ApiToken.id == token_id)
    with db.transaction(session):
        tokens = list(session.scalars(query))
        for token in tokens:
            token.revoked_at = utcnow()
            registry.record(session, "revoke", token, changes={"user_id": user.id})
    return len(tokens)


# Signing in --------------------------------------------------------------------------------


def authenticate(session, email, password):
    """Return the user with this email and password, or None; lock after repeated failures."""
    config = current_app.config
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        check_password_hash(_decoy_hash(), password)
        return None
    now = utcnow()
    right = check_password_hash(user.password_hash, password)
    if _aware(user.locked_until) and _aware(user.locked_until) > now:
        return None
    with db.transaction(session):
        if right and user.active:
            user.failed_sign_ins, user.locked_until = 0, None
            return user
        user.failed_sign_ins += 1
        if user.failed_sign_ins >= config["SIGN_IN_MAX_FAILURES"]:
            user.failed_sign_ins = 0
            user.locked_until = now + timedelta(minutes=config["SIGN_IN_LOCK_MINUTES"])
    return None


def _session_stamp(user):
    """Ties a signed-in session to the password: changing it signs every session out."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def current_user():
    """Return the signed-in user of this request (from the session cookie), or None."""
    user_id = session.get("user_id")
    if user_id is None:
        return None
    # No cache on `g`: the session's identity map already makes repeated calls cheap.
    user = db.get_session().get(User, user_id)
    if user is None or not user.active or session.get("stamp") != _session_stamp(user):
        return None
    return user


def sign_in_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_user() is None:
            return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    @functools.wraps(view)
    @sign_in_required
    def wrapped(*args, **kwargs):
        if current_user().role != "admin":
            raise Forbidden("This page is for administrators.")
        return view(*args, **kwargs)

    return wrapped


def _safe_next(target):
    """Only follow `next` to a path on this site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("web.index")


@auth.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    errors, email = {}, ""
    if request.method == "POST":
        email = request.form.get("email", "")
        password = request.form.get("password", "")
        if not email.strip():
            errors["email"] = "Enter your email address"
        if not password:
            errors["password"] = "Enter your password"  # noqa: S105
        if not errors:
            user = authenticate(db.get_session(), email, password)
            if user is not None:
                session.clear()
                session.permanent = True
                session["user_id"], session["stamp"] = user.id, _session_stamp(user)
                return redirect(_safe_next(request.args.get("next")))
            errors["password"] = SIGN_IN_FAILED
    status = 422 if errors else 200
    styles = [url_for("static", filename="css/forms.css")]
    page = render_template("sign_in.html", errors=errors, email=email, styles=styles)
    return page, status


@auth.post("/sign-out")
def sign_out():
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("web.index"))


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
    row = session_.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token.strip())))
    if row is None or row.revoked_at is not None or not row.user.active:
        raise Unauthorised("The token is not valid or has been revoked.")
    if row.last_used_at is None or _aware(row.last_used_at) < utcnow() - timedelta(hours=1):
        with db.transaction(session_):  # at most hourly, so reads stay reads
            row.last_used_at = utcnow()
    return row.user


def require_bearer_user(session_):
    user = bearer_user(session_)
    if user is None:
        raise Unauthorised("Send 'Authorization: Bearer <token>' (see mapper create-token).")
    return user


def init_app(app):
    app.register_blueprint(auth)
    app.before_request(_check_csrf)
    app.jinja_env.globals.update(csrf_token=csrf_token, current_user=current_user)
