"""Blueprint `invitations`: invite a colleague by email, and accept an invitation.

Thin handlers: read the form, call `mapper.core.invitations`, show the result. The accept
page is public (the link is the credential); the invite page is for administrators and for
editors of trusted organisations, who may invite editors into their own organisation only.
"""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from mapper.core import invitations
from mapper.errors import Conflict, Forbidden, Invalid, NotFound
from mapper.http.auth import current_user, sign_in_required
from mapper.store.db import get_session
from mapper.store.models import ROLES, Organisation

invitations_web = Blueprint("invitations", __name__)

FIELD_MESSAGES = {
    "email": "Enter an email address in the correct format, like name@example.org",
    "role": "Choose a role",
    "organisation": "Choose an organisation",
    "password": "Enter a password of at least 12 characters",
}


def _assets():
    return {
        "styles": [url_for("static", filename="css/forms.css")],
        "scripts": [url_for("static", filename="js/forms.js")],
    }


def _choices(user):
    """The roles and organisations this user may invite into."""
    if user.role == "admin":
        query = select(Organisation).order_by(Organisation.name)
        return list(ROLES), list(get_session().scalars(query))
    return ["editor"], [user.organisation]


def _field_errors(error):
    return {field: FIELD_MESSAGES.get(field, reason) for field, reason in error.fields.items()}


@invitations_web.route("/admin/invitations/new", methods=["GET", "POST"])
@sign_in_required
def new_invitation():
    """Invite a person by email with a role and an organisation."""
    user = current_user()
    if not invitations.may_invite(user):
        raise Forbidden("Only administrators and editors of trusted organisations can invite.")
    roles, organisations = _choices(user)
    errors, values = {}, {"role": "editor", "organisation": str(user.organisation_id)}
    if request.method == "POST":
        values = {
            key: request.form.get(key, "").strip() for key in ("email", "role", "organisation")
        }
        if not values["email"]:
            errors["email"] = "Enter the email address of the person to invite"
        if not values["organisation"]:
            errors["organisation"] = FIELD_MESSAGES["organisation"]
        if not errors:
            config = current_app.config
            try:
                invitations.invite(
                    get_session(),
                    user,
                    values["email"],
                    values["role"],
                    int(values["organisation"]) if values["organisation"].isdigit() else -1,
                    config["BASE_URL"],
                    config["INVITATION_DAYS"],
                )
            except (Invalid, Conflict) as error:
                errors = _field_errors(error) or {"email": error.message}
                if error.fields.get("email") == "is taken":
                    errors["email"] = "There is already an account for this email address"
            else:
                flash(f"Invitation sent to {values['email']}.")
                return redirect(url_for("invitations.new_invitation"))
    organisation_id = None if user.role == "admin" else user.organisation_id
    page = render_template(
        "invitations/new.html",
        errors=errors,
        values=values,
        roles=roles,
        organisations=organisations,
        pending=invitations.pending(get_session(), organisation_id),
        **_assets(),
    )
    return page, 422 if errors else 200


@invitations_web.post("/admin/invitations/<int:link_id>/resend")
@sign_in_required
def resend_invitation(link_id):
    """Send a new link for an invitation not yet accepted (the old one stops working)."""
    config = current_app.config
    link, _ = invitations.resend(
        get_session(), current_user(), link_id, config["BASE_URL"], config["INVITATION_DAYS"]
    )
    flash(f"A new invitation was sent to {link.email}.")
    return redirect(url_for("invitations.new_invitation"))


@invitations_web.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token):
    """Choose a password to accept an invitation, then sign in."""
    session = get_session()
    try:
        link = invitations.check(session, token)
    except (NotFound, Conflict) as error:
        return _unusable(error)
    organisation = link.organisation.name if link.organisation else ""
    errors = {}
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("confirm_password", ""):
            errors["confirm_password"] = "Enter the same password twice"  # noqa: S105
        if not errors:
            try:
                invitations.accept(session, token, password)
            except Invalid as error:
                errors = _field_errors(error)
            except (NotFound, Conflict) as error:
                return _unusable(error)
            else:
                flash("Your account is ready. Sign in with your email address and new password.")
                return redirect(url_for("auth.sign_in"))
    page = render_template(
        "invitations/accept.html",
        errors=errors,
        email=link.email,
        role=link.role,
        organisation=organisation,
        **_assets(),
    )
    return page, 422 if errors else 200


def _unusable(error):
    """The page for a link that cannot be used: why, and what to do."""
    page = render_template("invitations/unusable.html", message=error.message, **_assets())
    return page, error.status


def init_app(app):
    """Register the invitation pages."""
    app.register_blueprint(invitations_web)
