"""Blueprint `manage`: the pages of signed-in editors and admins.

Registering and editing groups, closing and verifying them, the moderation queue and a
group's history. Thin handlers: read the form, call `registry`, show the result.
"""

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from mapper import maps, registry
from mapper.auth import admin_required, current_user, sign_in_required
from mapper.db import get_session
from mapper.errors import Forbidden, Invalid, NotFound
from mapper.models import Category, CommunityGroup, PendingChange, User, Ward

manage = Blueprint("manage", __name__)


def _styles():
    return [url_for("static", filename="css/forms.css")]


def _emails(session, user_ids):
    """Users' emails by id, for the pages only admins see."""
    query = select(User.id, User.email).where(User.id.in_({i for i in user_ids if i}))
    return dict(session.execute(query).all())


def _group(group_id):
    group = get_session().get(CommunityGroup, group_id)
    if group is None:
        raise NotFound(f"There is no group {group_id}.")
    return group


def _editable(group_id):
    group = _group(group_id)
    if not registry.may_edit(current_user(), group):
        raise Forbidden("This group belongs to another organisation.")
    return group


def _form_data(form):
    """The group fields of a submitted form, by the names `registry.clean_group` reads."""
    data = {field: form.get(field, "") for field in registry.GROUP_TEXT_FIELDS}
    data.update(
        postcode=form.get("postcode", ""),
        lon=form.get("lon", ""),
        lat=form.get("lat", ""),
        categories=form.getlist("categories"),
        wards_served=form.getlist("wards_served"),
    )
    return data


def _values_of(group):
    """The form values that show a stored group."""
    values = registry.group_snapshot(group)
    lon, lat = values.pop("lonlat")
    return {**{k: v or "" for k, v in values.items()}, "lon": f"{lon:.6f}", "lat": f"{lat:.6f}"}


def _render_form(template, status=200, **context):
    session = get_session()
    config = current_app.config
    scripts, styles = maps.picker_assets()
    rows = session.execute(
        select(Ward.code, Ward.name, Ward.la_name)
        .where(Ward.current)
        .order_by(Ward.la_name, Ward.name, Ward.code)
    ).all()
    wards = [{"code": c, "name": n, "la_name": la or "Other wards"} for c, n, la in rows]
    page = render_template(
        template,
        categories=session.scalars(select(Category).order_by(Category.name)).all(),
        kinds=registry.GROUP_KINDS,
        wards=wards,
        scripts=scripts,
        styles=styles,
        **maps.location_picker(
            config["TILE_URL"], config["TILE_ATTRIBUTION"], url_for("api.list_wards")
        ),
        **{"values": {}, "errors": {}, "duplicates": [], **context},
    )
    return page, status


@manage.route("/groups/new", methods=["GET", "POST"])
@sign_in_required
def new_group():
    if request.method == "GET":
        return _render_form("groups/new.html")
    data = _form_data(request.form)
    confirmed = request.form.get("confirm_duplicate") == "yes"
    try:
        group, _ = registry.register_group(get_session(), current_user(), data, confirmed)
    except registry.LikelyDuplicate as error:
        return _render_form(
            "groups/new.html", 409, values=data, errors=error.fields, duplicates=error.duplicates
        )
    except Invalid as error:
        return _render_form("groups/new.html", 422, values=data, errors=error.fields)
    if group.status == "active":
        flash(f"{group.name} is registered and on the map.")
    else:
        flash(f"{group.name} is registered and waits for an administrator's approval.")
    return redirect(url_for("manage.my_groups"))


@manage.route("/groups/<int:group_id>/edit", methods=["GET", "POST"])
@sign_in_required
def edit_group(group_id):
    group = _editable(group_id)
    if request.method == "GET":
        return _render_form("groups/edit.html", group=group, values=_values_of(group))
    data = _form_data(request.form)
    try:
        proposal = registry.update_group(get_session(), current_user(), group, data)
    except Invalid as error:
        return _render_form("groups/edit.html", 422, group=group, values=data, errors=error.fields)
    if proposal is not None:
        flash(f"Your changes to {group.name} wait for an administrator's approval.")
    else:
        flash(f"{group.name} is saved.")
    return redirect(url_for("manage.my_groups"))


@manage.post("/groups/<int:group_id>/close")
@sign_in_required
def close_group(group_id):
    group = _editable(group_id)
    try:
        registry.close_group(get_session(), current_user(), group, request.form.get("reason"))
    except Invalid as error:
        return _render_form(
            "groups/edit.html",
            422,
            group=group,
            values=_values_of(group),
            close_errors=error.fields,
        )
    flash(f"{group.name} is closed. It stays in the records but no longer appears on the map.")
    return redirect(url_for("manage.my_groups"))


@manage.post("/groups/<int:group_id>/verify")
@sign_in_required
def verify_group(group_id):
    group = _editable(group_id)
    registry.mark_verified(get_session(), current_user(), group)
    flash(f"{group.name} is marked as checked today.")
    return redirect(url_for("manage.my_groups"))


@manage.get("/groups/mine")
@sign_in_required
def my_groups():
    session, user = get_session(), current_user()
    return render_template(
        "groups/mine.html",
        stale=registry.stale_groups(session, user),
        groups=registry.editable_groups(session, user),
        styles=_styles(),
    )


@manage.get("/groups/<int:group_id>/history")
@admin_required
def group_history(group_id):
    session = get_session()
    group = _group(group_id)
    events = registry.group_history(session, group)
    return render_template(
        "groups/history.html",
        group=group,
        events=events,
        emails=_emails(session, [e.user_id for e in events]),
        styles=_styles(),
    )


def _lonlat(group):
    return registry.group_snapshot(group)["lonlat"]


def _render_queue(status=200, errors=None):
    session = get_session()
    groups, changes = registry.moderation_queue(session)
    duplicates = {
        g.id: registry.likely_duplicates(session, g.name, _lonlat(g), exclude_id=g.id)
        for g in groups
    }
    currents = {c.id: registry.group_snapshot(c.group) for c in changes}
    authors = [g.created_by_id for g in groups] + [c.user_id for c in changes]
    page = render_template(
        "moderation.html",
        groups=groups,
        changes=changes,
        duplicates=duplicates,
        currents=currents,
        emails=_emails(session, authors),
        errors=errors or {},
        styles=_styles(),
    )
    return page, status


@manage.get("/moderation")
@admin_required
def moderation():
    return _render_queue()


def _decide(item, approve, reject, anchor):
    """Approve or reject a queued group or change as the form says."""
    session, user = get_session(), current_user()
    decision = request.form.get("decision")
    try:
        if decision == "approve":
            approve(session, user, item)
        elif decision == "reject":
            reject(session, user, item, request.form.get("reason"))
        else:
            raise Invalid("Choose approve or reject.", fields={"decision": "choose one"})
    except Invalid as error:
        reason = error.fields.get("reason") or error.fields.get("decision") or error.message
        return _render_queue(422, {anchor: reason})
    flash("Approved." if decision == "approve" else "Rejected.")
    return redirect(url_for("manage.moderation"))


@manage.post("/moderation/groups/<int:group_id>")
@admin_required
def decide_group(group_id):
    group = _group(group_id)
    return _decide(group, registry.approve_group, registry.reject_group, f"group-{group.id}")


@manage.post("/moderation/changes/<int:change_id>")
@admin_required
def decide_change(change_id):
    proposal = get_session().get(PendingChange, change_id)
    if proposal is None:
        raise NotFound(f"There is no change {change_id}.")
    return _decide(
        proposal, registry.approve_change, registry.reject_change, f"change-{proposal.id}"
    )


def init_app(app):
    app.register_blueprint(manage)
