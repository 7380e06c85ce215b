"""Blueprint `manage`: the pages of signed-in editors and admins.

Registering and editing groups, closing and verifying them, the moderation queue and a
group's history. Thin handlers: read the form, call `mapper.core`, show the result.
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

from mapper.core import accounts, audit, duplicates, group_input, group_lists, groups
from mapper.errors import Forbidden, Invalid, NotFound
from mapper.http.auth import admin_required, current_user, sign_in_required
from mapper.store.db import get_session
from mapper.store.models import Category, CommunityGroup, Postcode, Ward
from mapper.web import form_errors, maps

manage = Blueprint("manage", __name__)


def _styles():
    return [url_for("static", filename="css/forms.css")]


def confirmation(title, warning, button, cancel, hidden=(), names=(), reason=None, danger=True):
    """The page that asks before a destructive or bulk action: it posts the form again, confirmed.

    `hidden` are the (name, value) pairs to send again; the form goes to this request's URL.
    """
    return render_template(
        "confirm.html",
        title=title,
        warning=warning,
        button=button,
        cancel=cancel,
        hidden=list(hidden),
        names=list(names),
        reason=reason,
        danger=danger,
        action=request.path,
        styles=_styles(),
    )


def _group(group_id):
    group = get_session().get(CommunityGroup, group_id)
    if group is None:
        raise NotFound(f"There is no group {group_id}.")
    return group


def _editable(group_id):
    group = _group(group_id)
    if not groups.may_edit(current_user(), group):
        raise Forbidden("This group belongs to another organisation.")
    return group


def _form_data(form, group=None):
    """The group fields of a submitted form, by the names `group_input.clean_group` reads.

    The form has a postcode and a point; whichever the person changed last wins. The page's
    script says which in `location_from`; without it, on an edit, a changed postcode with an
    unchanged point means the postcode.
    """
    data = {field: form.get(field, "") for field in group_input.GROUP_TEXT_FIELDS}
    data.update(
        postcode=form.get("postcode", ""),
        lon=form.get("lon", ""),
        lat=form.get("lat", ""),
        categories=form.getlist("categories"),
        wards_served=form.getlist("wards_served"),
    )
    if "org_ids" in form:  # a form without the field keeps them as they are
        data["org_ids"] = form["org_ids"]
    if form.get("location_precision"):  # else as it was (exact, for a new group)
        data["location_precision"] = form["location_precision"]
    source = form.get("location_from")
    if source not in ("postcode", "point") and group is not None:
        stored = _values_of(group)
        moved = (data["lon"].strip(), data["lat"].strip()) != (stored["lon"], stored["lat"])
        new_postcode = Postcode.normalise(data["postcode"]) != Postcode.normalise(
            stored["postcode"]
        )
        source = "postcode" if new_postcode and not moved else "point"
    if source == "postcode" and data["postcode"].strip():
        data.update(lon="", lat="")
    return data


def _values_of(group):
    """The form values that show a stored group."""
    values = groups.group_snapshot(group)
    values["org_ids"] = "; ".join(values["org_ids"])
    lon, lat = values.pop("lonlat")
    return {**{k: v or "" for k, v in values.items()}, "lon": f"{lon:.6f}", "lat": f"{lat:.6f}"}


def _render_form(template, status=200, errors=None, **context):
    """Render a group form; `errors` are core's {field: reason}, said as what to do."""
    messages, summary = form_errors.for_form(errors or {})
    session = get_session()
    config = current_app.config
    scripts, styles = maps.picker_assets()
    scripts = [*scripts, url_for("static", filename="js/forms.js")]
    rows = session.execute(
        select(Ward.code, Ward.name, Ward.la_name)
        .where(Ward.current)
        .order_by(Ward.la_name, Ward.name, Ward.code)
    ).all()
    wards = [{"code": c, "name": n, "la_name": la or "Other wards"} for c, n, la in rows]
    page = render_template(
        template,
        categories=session.scalars(select(Category).order_by(Category.name)).all(),
        kinds=group_input.KIND_LABELS,
        precisions=group_input.PRECISION_LABELS,
        wards=wards,
        scripts=scripts,
        styles=styles,
        **maps.location_picker(
            config["TILE_URL"],
            config["TILE_ATTRIBUTION"],
            url_for("api.list_wards"),
            url_for("web.map_place"),
        ),
        **{"values": {}, "duplicates": [], "group": None, **context},
        errors=messages,
        error_list=summary,
    )
    return page, status


@manage.route("/groups/new", methods=["GET", "POST"])
@sign_in_required
def new_group():
    """Register a group (editors and admins)."""
    if request.method == "GET":
        return _render_form("groups/new.html")
    data = _form_data(request.form)
    confirmed = request.form.get("confirm_duplicate") == "yes"
    try:
        group, _ = groups.register_group(get_session(), current_user(), data, confirmed)
    except duplicates.LikelyDuplicate as error:
        return _render_form(
            "groups/new.html", 409, values=data, errors=error.fields, duplicates=error.duplicates
        )
    except Invalid as error:
        return _render_form("groups/new.html", 422, values=data, errors=error.fields)
    if group.status == "active":
        flash(f"{group.name} is registered and on the map.")
    else:
        flash(f"{group.name} is registered and waits for an administrator's approval.")
    return redirect(url_for("lists.my_groups"))


@manage.route("/groups/<int:group_id>/edit", methods=["GET", "POST"])
@sign_in_required
def edit_group(group_id):
    """Edit a group; an untrusted editor's edit to an active group waits for approval."""
    group = _editable(group_id)
    if request.method == "GET":
        return _render_form("groups/edit.html", group=group, values=_values_of(group))
    data = _form_data(request.form, group)
    try:
        proposal = groups.update_group(get_session(), current_user(), group, data)
    except Invalid as error:
        return _render_form("groups/edit.html", 422, group=group, values=data, errors=error.fields)
    if proposal is not None:
        flash(f"Your changes to {group.name} wait for an administrator's approval.")
    else:
        flash(f"{group.name} is saved.")
    return redirect(url_for("lists.my_groups"))


@manage.post("/groups/<int:group_id>/close")
@sign_in_required
def close_group(group_id):
    """Close a group with a reason, once the person has confirmed."""
    group = _editable(group_id)
    reason = request.form.get("reason", "").strip()
    if not reason:
        return _render_form(
            "groups/edit.html",
            422,
            group=group,
            values=_values_of(group),
            close_errors={"reason": "Enter why the group is closing"},
        )
    if request.form.get("confirmed") != "yes":
        return confirmation(
            f"Close {group.name}?",
            "It leaves the map and the analysis, and stays in the records.",
            "Close the group",
            cancel=url_for("manage.edit_group", group_id=group.id),
            hidden=[("reason", reason)],
            reason=reason,
        )
    groups.close_group(get_session(), current_user(), group, reason)
    flash(f"{group.name} is closed. It stays in the records but no longer appears on the map.")
    return redirect(url_for("lists.my_groups"))


@manage.post("/groups/<int:group_id>/reopen")
@admin_required
def reopen_group(group_id):
    """Make a closed group active again (admins)."""
    group = _group(group_id)
    groups.reopen_group(get_session(), current_user(), group)
    flash(f"{group.name} is open again and back on the map.")
    return redirect(url_for("lists.my_groups", status="active", q=group.name))


@manage.get("/groups/<int:group_id>/preview")
@sign_in_required
def preview_group(group_id):
    """A group as its editors and admins see it, with any change that waits for approval."""
    session = get_session()
    group = _editable(group_id)
    scripts, styles = maps.small_map_assets()
    return render_template(
        "groups/preview.html",
        group=group,
        values=groups.group_snapshot(group),
        kinds=group_input.KIND_LABELS,
        changes=group_lists.pending_changes_of(session, [group.id]).get(group.id, []),
        scripts=scripts,
        styles=styles,
    )


@manage.post("/groups/<int:group_id>/verify")
@sign_in_required
def verify_group(group_id):
    """Mark a group as checked today."""
    group = _editable(group_id)
    groups.mark_verified(get_session(), current_user(), group)
    flash(f"{group.name} is marked as checked today.")
    return redirect(url_for("lists.my_groups"))


@manage.get("/groups/<int:group_id>/history")
@admin_required
def group_history(group_id):
    """A group's audit trail (admins)."""
    session = get_session()
    group = _group(group_id)
    events = audit.group_history(session, group)
    return render_template(
        "groups/history.html",
        group=group,
        events=events,
        emails=accounts.emails_of(session, [e.user_id for e in events]),
        styles=_styles(),
    )


def init_app(app):
    """Register the editors' and administrators' pages."""
    app.register_blueprint(manage)
