"""Blueprint `admin`: the administrators' pages for users and organisations.

Users: a searched, paged list; each user's page changes their role and organisation,
deactivates (after a confirmation) or reactivates them and clears a lockout. Organisations:
their trusted flag, their users and groups, and moving groups to another organisation (after
a confirmation). Every change goes through `core.users` or `core.organisations`, audited.
Emails appear on these pages only: every route here is for admins.
"""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from mapper.core import group_lists, organisations, users
from mapper.errors import Conflict, Invalid
from mapper.http import params
from mapper.http.auth import admin_required, current_user
from mapper.store.db import get_session
from mapper.store.models import ROLES, Organisation
from mapper.web.manage import confirmation

admin = Blueprint("admin", __name__, url_prefix="/admin")

# 13a's invitation form; the users page links to it only when it is there.
INVITE_PATH = "/admin/invitations/new"

STATE_LABELS = {"active": "Active", "inactive": "Deactivated", "locked": "Locked"}

MESSAGES = {
    "role": "Choose a role from the list",
    "organisation": "Choose an organisation from the list",
    "target": "Choose the organisation to move the groups to",
    "ids": "Choose at least one group",
}


def _styles():
    return [url_for("static", filename="css/forms.css")]


def _scripts():
    return [url_for("static", filename="js/forms.js")]


def invite_url():
    """The invitation form's URL if the app has one, else None."""
    for rule in current_app.url_map.iter_rules():
        if rule.rule == INVITE_PATH and "GET" in rule.methods:
            return INVITE_PATH
    return None


def _errors(error):
    """Messages by field id that say what to do, for the error summary and the fields."""
    known = MESSAGES if isinstance(error, Invalid) else {}  # a conflict says it in its own words
    return {field: known.get(field, error.message) for field in error.fields or ["form"]}


# Users -------------------------------------------------------------------------------------


def _user_filters(args):
    params.only(args, "q", "role", "organisation", "state", "page")
    role, state = args.get("role", ""), args.get("state", "")
    if role and role not in ROLES:
        raise params.bad("role", "must be one of " + ", ".join(ROLES))
    if state and state not in users.STATES:
        raise params.bad("state", "must be one of " + ", ".join(users.STATES))
    return {
        "q": args.get("q", "").strip()[:200],
        "role": role,
        "organisation": params.integer(args, "organisation", None, minimum=1),
        "state": state,
        "page": params.integer(args, "page", 1, minimum=1),
    }


@admin.get("/users")
@admin_required
def user_list():
    """Every user: search by email or organisation, filters by role, organisation and state."""
    session = get_session()
    filters = _user_filters(request.args)
    found = users.find_users(session, **filters)
    return render_template(
        "admin/users.html",
        found=found,
        filters=filters,
        args={k: v for k, v in request.args.items() if k != "page"},
        roles=ROLES,
        states=STATE_LABELS,
        organisations=group_lists.organisations(session),
        locked={u.id: users.locked_until(u) for u in found.users},
        invite_url=invite_url(),
        styles=_styles(),
    )


def _user_page(user, errors=None, values=None, status=200):
    session = get_session()
    page = render_template(
        "admin/user.html",
        user=user,
        errors=errors or {},
        values=values or {"role": user.role, "organisation": user.organisation_id},
        roles=ROLES,
        organisations=group_lists.organisations(session),
        locked=users.locked_until(user),
        is_me=user.id == current_user().id,
        styles=_styles(),
        scripts=_scripts(),
    )
    return page, status


@admin.get("/users/<int:user_id>")
@admin_required
def user_page(user_id):
    """One user: their role and organisation, and deactivate, reactivate or unlock them."""
    return _user_page(users.get_user(get_session(), user_id))


@admin.post("/users/<int:user_id>/change")
@admin_required
def change_user(user_id):
    """Change a user's role and organisation."""
    session = get_session()
    user = users.get_user(session, user_id)
    role = request.form.get("role", "")
    organisation = request.form.get("organisation", "")
    try:
        if not organisation.isdigit():
            raise Invalid("Choose an organisation.", {"organisation": "choose one"})
        changes = users.change_user(
            session, current_user(), user, role=role, organisation_id=int(organisation)
        )
    except (Invalid, Conflict) as error:
        values = {"role": role, "organisation": int(organisation) if organisation.isdigit() else ""}
        return _user_page(user, _errors(error), values, error.status)
    flash(f"Changed {', '.join(changes)} of {user.email}." if changes else "Nothing to change.")
    return redirect(url_for("admin.user_page", user_id=user.id))


@admin.post("/users/<int:user_id>/deactivate")
@admin_required
def deactivate_user(user_id):
    """Deactivate a user, once confirmed: their sessions and API tokens stop at once."""
    session = get_session()
    user = users.get_user(session, user_id)
    reason = request.form.get("reason", "").strip()[:500]
    if request.form.get("confirmed") != "yes":
        return confirmation(
            f"Deactivate {user.email}?",
            "They are signed out at once and their API tokens are revoked. You can "
            "reactivate the account later; they will need new tokens.",
            "Deactivate",
            cancel=url_for("admin.user_page", user_id=user.id),
            hidden=[("reason", reason)] if reason else [],
            reason=reason or None,
        )
    try:
        users.deactivate_user(session, current_user(), user, reason=reason or None)
    except Conflict as error:
        return _user_page(user, {"deactivate": error.message}, status=error.status)
    flash(f"Deactivated {user.email}.")
    return redirect(url_for("admin.user_page", user_id=user.id))


@admin.post("/users/<int:user_id>/reactivate")
@admin_required
def reactivate_user(user_id):
    """Let a deactivated user sign in again."""
    user = users.get_user(get_session(), user_id)
    users.reactivate_user(get_session(), current_user(), user)
    flash(f"Reactivated {user.email}. Their old API tokens stay revoked.")
    return redirect(url_for("admin.user_page", user_id=user.id))


@admin.post("/users/<int:user_id>/unlock")
@admin_required
def unlock_user(user_id):
    """Clear a user's sign-in lockout."""
    user = users.get_user(get_session(), user_id)
    users.unlock_user(get_session(), current_user(), user)
    flash(f"Unlocked {user.email}: they can sign in again now.")
    return redirect(url_for("admin.user_page", user_id=user.id))


# Organisations -----------------------------------------------------------------------------


@admin.get("/organisations")
@admin_required
def organisation_list():
    """Every organisation with its trusted flag and its counts of users and groups."""
    params.only(request.args)
    return render_template(
        "admin/organisations.html",
        summaries=organisations.summaries(get_session()),
        styles=_styles(),
    )


def _organisation_page(organisation, errors=None, status=200):
    session = get_session()
    page = params.integer(request.args, "page", 1, minimum=1)
    found = group_lists.find_groups(
        session, current_user(), organisation=organisation.id, page=page
    )
    others = group_lists.organisations(session)
    rendered = render_template(
        "admin/organisation.html",
        organisation=organisation,
        members=organisations.users_of(session, organisation),
        found=found,
        others=[o for o in others if o.id != organisation.id],
        errors=errors or {},
        styles=_styles(),
        scripts=_scripts(),
    )
    return rendered, status


@admin.get("/organisations/<int:organisation_id>")
@admin_required
def organisation_page(organisation_id):
    """One organisation: its trusted flag, users and groups (paged), and moving groups."""
    params.only(request.args, "page")
    return _organisation_page(organisations.get_organisation(get_session(), organisation_id))


@admin.post("/organisations/<int:organisation_id>/trust")
@admin_required
def trust_organisation(organisation_id):
    """Mark an organisation trusted, or not."""
    session = get_session()
    organisation = organisations.get_organisation(session, organisation_id)
    trusted = request.form.get("trusted") == "yes"
    organisations.set_trusted(session, current_user(), organisation, trusted)
    flash(
        f"{organisation.name} is trusted: its new groups need no approval."
        if trusted
        else f"{organisation.name} is not trusted: its new groups and changes need approval."
    )
    return redirect(url_for("admin.organisation_page", organisation_id=organisation.id))


@admin.post("/organisations/<int:organisation_id>/org-ids")
@admin_required
def set_org_ids(organisation_id):
    """Set an organisation's org-ids (GB-CHC-1234567; GB-COH-01234567)."""
    session = get_session()
    organisation = organisations.get_organisation(session, organisation_id)
    try:
        organisations.set_org_ids(
            session, current_user(), organisation, request.form.get("org_ids", "")
        )
    except Invalid as error:
        return _organisation_page(organisation, _errors(error), error.status)
    flash(f"{organisation.name}'s org-ids are saved.")
    return redirect(url_for("admin.organisation_page", organisation_id=organisation.id))


@admin.post("/organisations/<int:organisation_id>/move")
@admin_required
def move_groups(organisation_id):
    """Move the chosen groups of an organisation to another one, once confirmed."""
    session = get_session()
    organisation = organisations.get_organisation(session, organisation_id)
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
    target = request.form.get("target", "")
    target_id = int(target) if target.isdigit() else None
    chosen = group_lists.groups_by_id(session, current_user(), ids)
    chosen = [g for g in chosen if g.organisation_id == organisation.id]
    try:
        if not chosen:
            raise Invalid("Choose at least one group.", {"ids": "choose at least one"})
        destination = session.get(Organisation, target_id) if target_id else None
        if destination is None or destination.id == organisation.id:
            raise Invalid("Choose another organisation.", {"target": "choose one"})
        if request.form.get("confirmed") != "yes":
            count = f"{len(chosen)} group{'s' if len(chosen) != 1 else ''}"
            return confirmation(
                f"Move {count} to {destination.name}?",
                f"{destination.name}'s editors will be able to change them, and "
                f"{organisation.name}'s will not.",
                f"Move {count}",
                cancel=url_for("admin.organisation_page", organisation_id=organisation.id),
                hidden=[("ids", g.id) for g in chosen] + [("target", destination.id)],
                names=[g.name for g in chosen],
                danger=False,
            )
        moved = organisations.move_groups(
            session, current_user(), [g.id for g in chosen], destination.id
        )
    except Invalid as error:
        return _organisation_page(organisation, _errors(error), error.status)
    flash(f"Moved {moved} group{'s' if moved != 1 else ''} to {destination.name}.")
    return redirect(url_for("admin.organisation_page", organisation_id=organisation.id))


def init_app(app):
    """Register the admins' users and organisations pages."""
    app.register_blueprint(admin)
