"""Blueprint `passwords`: "Forgot your password?" and the reset page its mail links to.

Thin handlers over `mapper.core.resets`. Asking for a link answers the same page whether or
not the address has an account, at once: the link is made and mailed after the answer.
"""

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

from mapper.core import accounts, resets
from mapper.errors import Conflict, Invalid, NotFound
from mapper.http import limits
from mapper.http import mail as http_mail
from mapper.store.db import get_session

passwords = Blueprint("passwords", __name__)


def _assets():
    return {
        "styles": [url_for("static", filename="css/forms.css")],
        "scripts": [url_for("static", filename="js/forms.js")],
    }


@passwords.route("/forgot-password", methods=["GET", "POST"])
@limits.sign_in_limit
def forgot_password():
    """Ask for a password reset link by email."""
    errors, email = {}, ""
    if request.method == "POST":
        email = request.form.get("email", "").strip()
        if not email:
            errors["email"] = "Enter your email address"
        elif not accounts.EMAIL_FORMAT.match(email):
            errors["email"] = "Enter an email address in the correct format, like name@example.org"
        else:
            config = current_app.config
            # After the answer: its timing must not tell a known address from an unknown one.
            http_mail.after_answer(
                resets.request_reset, email, config["BASE_URL"], config["RESET_MINUTES"]
            )
            page = render_template(
                "passwords/sent.html", email=email, minutes=config["RESET_MINUTES"], **_assets()
            )
            return page, 200
    page = render_template("passwords/forgot.html", errors=errors, email=email, **_assets())
    return page, 422 if errors else 200


@passwords.route("/reset-password/<token>", methods=["GET", "POST"])
@limits.sign_in_limit
def reset_password(token):
    """Choose a new password with the link of a reset mail."""
    db_session = get_session()
    try:
        link = resets.check(db_session, token)
    except (NotFound, Conflict) as error:
        return _unusable(error)
    errors = {}
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("confirm_password", ""):
            errors["confirm_password"] = "Enter the same password twice"  # noqa: S105
        else:
            try:
                resets.reset_password(db_session, token, password)
            except Invalid:
                errors["password"] = "Enter a password of at least 12 characters"  # noqa: S105
            except (NotFound, Conflict) as error:
                return _unusable(error)
            else:
                session.clear()  # whoever was signed in on this browser is signed out too
                flash("Your password has been changed. Sign in with your new password.")
                return redirect(url_for("auth.sign_in"))
    page = render_template("passwords/reset.html", errors=errors, email=link.email, **_assets())
    return page, 422 if errors else 200


def _unusable(error):
    """The page for a link that cannot be used: why, and how to get another."""
    page = render_template("passwords/unusable.html", message=error.message, **_assets())
    return page, error.status


def init_app(app):
    """Register the password pages."""
    app.register_blueprint(passwords)
