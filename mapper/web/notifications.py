"""Blueprint `notifications`: a user's notification settings, and the signed "mark as
checked" links of the reminder mails (which work without signing in)."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from mapper.core import groups, mail, notifications
from mapper.errors import Conflict, Forbidden, NotFound
from mapper.http.auth import current_user, sign_in_required
from mapper.store.db import get_session

notifications_web = Blueprint("notifications", __name__)


def _styles():
    return [url_for("static", filename="css/forms.css")]


@notifications_web.route("/account/notifications", methods=["GET", "POST"])
@sign_in_required
def settings():
    """Turn the non-essential emails (approvals, digests, reminders) on or off."""
    user, session = current_user(), get_session()
    if request.method == "POST":
        wanted = request.form.get("notifications") == "on"
        mail.set_notifications(session, user, wanted)
        flash("You will get notification emails." if wanted else "Notification emails are off.")
        return redirect(url_for("notifications.settings"))
    return render_template(
        "notifications/settings.html",
        wanted=mail.wants_notifications(session, user),
        role=user.role,
        styles=_styles(),
    )


@notifications_web.route("/groups/<int:group_id>/checked/<token>", methods=["GET", "POST"])
def mark_checked(group_id, token):
    """Mark a group as checked from a reminder's link: a page with one button."""
    session = get_session()
    try:
        group, user = notifications.read_check_link(
            session, current_app.config["SECRET_KEY"], group_id, token
        )
    except (NotFound, Conflict) as error:
        page = render_template("notifications/unusable.html", message=error.message)
        return page, error.status
    if not groups.may_edit(user, group):
        raise Forbidden("You can no longer mark this group as checked.")
    if request.method == "POST":
        groups.mark_verified(session, user, group)
        flash(f"Marked “{group.name}” as checked today. Thank you.")
        return redirect(request.path)
    page = render_template(
        "notifications/checked.html",
        group=group,
        checked_today=group.last_verified == groups.today(),
        styles=_styles(),
    )
    return page


def init_app(app):
    """Register the notification pages."""
    app.register_blueprint(notifications_web)
