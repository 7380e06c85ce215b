"""Blueprint `lists`: the lists of groups editors and admins work through, and moderation.

Every list has search, filters, sorting and pages, and bulk actions that ask for confirmation
first. Destructive actions (close, reject) always go through a confirmation page.
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from mapper.core import accounts, duplicates, group_lists, groups
from mapper.errors import Invalid, NotFound
from mapper.http import params
from mapper.http.auth import admin_required, current_user, sign_in_required
from mapper.store.db import get_session
from mapper.store.models import (
    STATUSES,
    Category,
    CommunityGroup,
    PendingChange,
    Ward,
    as_record_id,
)
from mapper.web import form_errors, maps
from mapper.web.manage import confirmation

lists = Blueprint("lists", __name__)


SORT_LABELS = {
    "name": "Name",
    "status": "Status",
    "ward": "Ward",
    "checked": "Last checked, oldest first",
    "updated": "Last changed, newest first",
}


BULK_LABELS = {
    "approve": ("Approve {n}", "They appear on the map at once.", False),
    "verify": ("Mark {n} as checked today", "Their details are recorded as checked today.", False),
    "close": (
        "Close {n}",
        "Closed groups leave the map and the analysis. They stay in the records.",
        True,
    ),
}


def _filters(args):
    """The search and filters of a list, checked; a bad one is a 400 naming it."""
    status = args.get("status", "")
    if status and status not in STATUSES:
        raise params.bad("status", f"must be one of {', '.join(STATUSES)}")
    ward = (params.codes(args, "ward") or [""])[0]
    category = (params.words(args, "category") or [""])[0]
    sort = args.get("sort") or "name"
    if sort not in SORT_LABELS:
        raise params.bad("sort", f"must be one of {', '.join(SORT_LABELS)}")
    return {
        "q": args.get("q", "").strip()[:200],
        "statuses": (status,) if status else (),
        "category": category,
        "ward": ward,
        "organisation": params.integer(args, "organisation", None, minimum=1),
        "stale": args.get("stale") == "1",
        "sort": sort,
        "page": params.integer(args, "page", 1, minimum=1),
    }


def _choices(session):
    return {
        "statuses": STATUSES,
        "categories": session.execute(
            select(Category.slug, Category.name).order_by(Category.name)
        ).all(),
        "wards": session.execute(
            select(Ward.code, Ward.name).where(Ward.current).order_by(Ward.name, Ward.code)
        ).all(),
        "organisations": group_lists.organisations(session),
        "sorts": SORT_LABELS,
    }


def _styles():
    return [url_for("static", filename="css/forms.css")]


@lists.get("/groups/mine")
@sign_in_required
def my_groups():
    """The groups the user may edit: searched, filtered, sorted and paged, with bulk actions."""
    session, user = get_session(), current_user()
    filters = _filters(request.args)
    found = group_lists.find_groups(session, user, **filters)
    stale = group_lists.find_groups(session, user, stale=True, per_page=1).total
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "groups/mine.html",
        found=found,
        filters=filters,
        args=args,
        stale_count=stale,
        waiting=group_lists.pending_changes_of(session, [g.id for g in found.groups]),
        choices=_choices(session),
        bulk_labels=BULK_LABELS,
        styles=_styles(),
    )


def _back(default):
    """The list to go back to: a path of ours, never another site."""
    back = request.form.get("back", "")
    return back if back.startswith(("/groups/mine", "/moderation")) else default


@lists.post("/groups/bulk")
@sign_in_required
def bulk():
    """Approve, mark as checked or close the chosen groups, once the person has confirmed."""
    session, user = get_session(), current_user()
    action, reason = request.form.get("action", ""), request.form.get("reason", "").strip()
    ids = [as_record_id(i) for i in request.form.getlist("ids") if as_record_id(i) is not None]
    chosen = group_lists.groups_by_id(session, user, ids)
    back = _back(url_for("lists.my_groups"))
    try:
        if action not in BULK_LABELS:
            raise Invalid("Choose what to do.", fields={"action": "choose what to do"})
        if not chosen:
            raise Invalid("Choose at least one group.", fields={"ids": "choose at least one"})
        if action == "close" and not reason:
            raise Invalid("Give a reason.", fields={"reason": "is required"})
        if request.form.get("confirmed") != "yes":
            title, warning, danger = BULK_LABELS[action]
            count = f"{len(chosen)} group{'s' if len(chosen) != 1 else ''}"
            hidden = [("ids", g.id) for g in chosen] + [("action", action), ("back", back)]
            return confirmation(
                title.format(n=count) + "?",
                warning,
                title.format(n=count),
                cancel=back,
                hidden=hidden + ([("reason", reason)] if reason else []),
                names=[g.name for g in chosen],
                reason=reason if action == "close" else None,
                danger=danger,
            )
        groups.act_on_groups(session, user, chosen, action, reason)
    except Invalid as error:
        for text in form_errors.for_form(error.fields)[0].values():
            flash(text)
        return redirect(back)
    done = {"approve": "approved", "verify": "marked as checked today", "close": "closed"}
    flash(f"{len(chosen)} group{'s' if len(chosen) != 1 else ''} {done[action]}.")
    return redirect(back)


def _render_queue(status=200, errors=None):
    session = get_session()
    filters = _filters(request.args)
    found = group_lists.find_groups(
        session, current_user(), **{**filters, "statuses": ("pending",), "sort": "oldest"}
    )
    changes = list(
        session.scalars(
            select(PendingChange)
            .where(PendingChange.status == "pending")
            .order_by(PendingChange.created_at, PendingChange.id)
        )
    )
    similar = {
        g.id: duplicates.likely_duplicates(
            session,
            g.name,
            groups.group_snapshot(g)["lonlat"],
            exclude_id=g.id,
            website=g.website,
            org_ids=g.org_ids,
        )
        for g in found.groups
    }
    currents = {c.id: groups.group_snapshot(c.group) for c in changes}
    authors = [g.created_by_id for g in found.groups] + [c.user_id for c in changes]
    scripts, styles = maps.small_map_assets()
    page = render_template(
        "moderation.html",
        found=found,
        groups=found.groups,
        filters=filters,
        args={k: v for k, v in request.args.items() if k != "page"},
        changes=changes,
        duplicates=similar,
        currents=currents,
        lonlats={g.id: groups.group_snapshot(g)["lonlat"] for g in found.groups},
        emails=accounts.emails_of(session, authors),
        errors=errors or {},
        scripts=[*scripts, url_for("static", filename="js/forms.js")],
        styles=styles,
    )
    return page, status


@lists.get("/moderation")
@admin_required
def moderation():
    """The moderation queue: pending groups and pending changes (admins)."""
    return _render_queue()


def _decide(item, name, approve, reject, anchor):
    """Approve or reject a queued group or change as the form says; rejecting is confirmed."""
    session, user = get_session(), current_user()
    decision = request.form.get("decision")
    reason = request.form.get("reason", "").strip()
    try:
        if decision == "approve":
            approve(session, user, item)
        elif decision == "reject":
            if not reason:
                raise Invalid("Give a reason.", fields={"reason": "is required"})
            if request.form.get("confirmed") != "yes":
                return confirmation(
                    f"Reject {name}?",
                    "The person who sent it sees your reason. This cannot be undone.",
                    "Reject",
                    cancel=url_for("lists.moderation") + f"#{anchor}",
                    hidden=[("decision", "reject"), ("reason", reason)],
                    reason=reason,
                )
            reject(session, user, item, reason)
        else:
            raise Invalid("Choose approve or reject.", fields={"decision": "choose one"})
    except Invalid as error:
        field = "reason" if "reason" in error.fields else "decision"
        message = form_errors.message(field, error.fields.get(field, error.message))
        if field == "reason":
            message = "Enter why you reject it"
        return _render_queue(422, {anchor: message})
    flash(f"Approved {name}." if decision == "approve" else f"Rejected {name}.")
    return redirect(url_for("lists.moderation"))


@lists.post("/moderation/groups/<int:group_id>")
@admin_required
def decide_group(group_id):
    """Approve or reject a pending group."""
    group = get_session().get(CommunityGroup, group_id)
    if group is None:
        raise NotFound("There is no such group.")
    return _decide(
        group, group.name, groups.approve_group, groups.reject_group, f"group-{group.id}"
    )


@lists.post("/moderation/changes/<int:change_id>")
@admin_required
def decide_change(change_id):
    """Approve or reject a pending change."""
    proposal = get_session().get(PendingChange, change_id)
    if proposal is None:
        raise NotFound("There is no such change.")
    name = f"the change to {proposal.group.name}"
    return _decide(
        proposal, name, groups.approve_change, groups.reject_change, f"change-{proposal.id}"
    )


def init_app(app):
    """Register the lists and the moderation queue."""
    app.register_blueprint(lists)
