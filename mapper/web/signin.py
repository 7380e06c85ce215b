"""Blueprint `auth`: the sign-in and sign-out pages."""

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from mapper.core.accounts import authenticate
from mapper.http import auth as http_auth
from mapper.http import limits
from mapper.store import db

auth = Blueprint("auth", __name__)


SIGN_IN_FAILED = (
    "The email address or password is not right. After repeated failures an account is "
    "locked for a while, and its owner is told by email."
)


def _safe_next(target):
    """Only follow `next` to a path on this site; anything else goes to the home page.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so
    `/<tab>/evil.example` and `/\\evil.example` are other sites: a path with any control
    character, space or backslash is refused, as is one that is not a plain path.
    """
    if (
        target
        and target.startswith("/")
        and not any(c == "\\" or c.isspace() or not c.isprintable() for c in target)
        and not urlsplit(target).netloc
        and not target.startswith("//")
    ):
        return target
    return url_for("web.index")


@auth.route("/sign-in", methods=["GET", "POST"])
@limits.sign_in_limit
def sign_in():
    """Sign in with email and password, then go on to `next`."""
    errors, email = {}, ""
    if request.method == "POST":
        email = request.form.get("email", "")
        password = request.form.get("password", "")
        if not email.strip():
            errors["email"] = "Enter your email address"
        if not password:
            errors["password"] = "Enter your password"  # noqa: S105
        if not errors:
            config = current_app.config
            user = authenticate(
                db.get_session(),
                email,
                password,
                config["SIGN_IN_MAX_FAILURES"],
                config["SIGN_IN_LOCK_MINUTES"],
            )
            if user is not None:
                http_auth.start_session(user)
                return redirect(_safe_next(request.args.get("next")))
            errors["password"] = SIGN_IN_FAILED
    status = 422 if errors else 200
    styles = [url_for("static", filename="css/forms.css")]
    scripts = [url_for("static", filename="js/forms.js")]
    page = render_template(
        "sign_in.html", errors=errors, email=email, styles=styles, scripts=scripts
    )
    return page, status


@auth.post("/sign-out")
def sign_out():
    """Sign out and go to the home page."""
    http_auth.end_session()
    flash("You are signed out.")
    return redirect(url_for("web.index"))
