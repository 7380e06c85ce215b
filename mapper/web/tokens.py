"""Blueprint `tokens`: a signed-in person's own API tokens; make one (shown once) or revoke one.

Only a token's SHA-256 hash is stored (`core.accounts`), so the page that makes a token is the
only place it is ever shown; that answer is never cached.
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for

from mapper.core import accounts
from mapper.errors import NotFound
from mapper.http.auth import current_user, sign_in_required
from mapper.store.db import get_session

tokens = Blueprint("tokens", __name__, url_prefix="/account")

LABEL_MAX = 200


def _page(new_token=None, errors=None, label="", status=200):
    user = current_user()
    mine = sorted(
        accounts.user_tokens(get_session(), user),
        key=lambda t: (t.revoked_at is not None, -t.id),
    )
    page = render_template(
        "account/tokens.html",
        tokens=mine,
        new_token=new_token,
        errors=errors or {},
        label=label,
        styles=[url_for("static", filename="css/forms.css")],
        scripts=[url_for("static", filename="js/forms.js")],
    )
    return page, status, {"Cache-Control": "no-store"}


@tokens.get("/tokens")
@sign_in_required
def token_list():
    """The person's API tokens (never the tokens themselves), and a form to make one."""
    return _page()


@tokens.post("/tokens")
@sign_in_required
def create_token():
    """Make an API token and show it, this once."""
    label = request.form.get("label", "").strip()
    if not label:
        return _page(errors={"label": "Enter what the token is for"}, status=422)
    if len(label) > LABEL_MAX:
        errors = {"label": f"What the token is for must be {LABEL_MAX} characters or fewer"}
        return _page(errors=errors, label=label, status=422)
    user = current_user()
    row, token = accounts.create_token(get_session(), user, label, by=user)
    return _page(new_token=(row, token))


@tokens.post("/tokens/<int:token_id>/revoke")
@sign_in_required
def revoke_token(token_id):
    """Revoke one of the person's own tokens (another's is a 404, as if it did not exist)."""
    user = current_user()
    if accounts.revoke_tokens(get_session(), user, token_id, by=user) == 0:
        mine = {t.id for t in accounts.user_tokens(get_session(), user)}
        if token_id not in mine:
            raise NotFound("You have no such token.")
    flash("The token is revoked: programs using it are refused from now on.")
    return redirect(url_for("tokens.token_list"))


def init_app(app):
    """Register the API tokens page."""
    app.register_blueprint(tokens)
