"""Blueprint `audit_log`: the audit trail for admins, filtered by who, action, record and
dates, newest first, in pages."""

from flask import Blueprint, render_template, request, url_for

from mapper.core import accounts, audit
from mapper.errors import NotFound
from mapper.http import params
from mapper.http.auth import admin_required
from mapper.store.db import get_session

audit_log = Blueprint("audit_log", __name__)

# `who` takes a user id, an email, or this for the commands and imports (no user).
SYSTEM = "system"


def _who(session, raw):
    """Return the user id `who` names (0 for the commands and imports), or None for anyone."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if raw == SYSTEM:
        return 0
    if raw.isdigit():
        return int(raw)
    try:
        return accounts.find_user(session, raw).id
    except NotFound:
        raise params.bad("who", f"there is no user with the email {raw}") from None


def _filters(session, args):
    """The audit page's filters, checked; a bad one is a 400 naming it."""
    params.only(args, "who", "action", "entity", "entity_id", "from", "to", "page")
    action, entity = args.get("action", "").strip(), args.get("entity", "").strip()
    for name, value in (("action", action), ("entity", entity)):
        if value and not params.is_word(value):
            raise params.bad(name, f"'{value}' is not allowed")
    since, until = params.iso_date(args, "from"), params.iso_date(args, "to")
    if since and until and since > until:
        raise params.bad("to", "must be on or after 'from'")
    return {
        "who": _who(session, args.get("who")),
        "action": action,
        "entity_type": entity,
        "entity_id": params.integer(args, "entity_id", None, minimum=1),
        "since": since,
        "until": until,
        "page": params.integer(args, "page", 1, minimum=1),
    }


@audit_log.get("/admin/audit")
@admin_required
def audit_page():
    """Who changed what and when: every audited action, filtered and paged."""
    session = get_session()
    filters = _filters(session, request.args)
    found = audit.find_events(session, **filters)
    emails = accounts.emails_of(session, [e.user_id for e in found.events])
    return render_template(
        "admin/audit.html",
        found=found,
        filters=filters,
        who=request.args.get("who", ""),
        emails=emails,
        actions=audit.actions(session),
        entities=audit.entity_types(session),
        args={k: v for k, v in request.args.items() if k != "page"},
        section="audit",
        styles=[url_for("static", filename="css/forms.css")],
    )


def init_app(app):
    """Register the audit page."""
    app.register_blueprint(audit_log)
