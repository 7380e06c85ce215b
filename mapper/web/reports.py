"""Blueprint `reports`: "Tell us this has changed or closed", a note about a group by anyone.

No account is needed; the form is CSRF-protected like every form, rate-limited per client
(RATE_LIMIT_REPORT) and has a honeypot field that people never see: a form with it filled in
is thanked and sends nothing. `core/reports.py` checks the note and mails it.
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for

from mapper.core import reports
from mapper.errors import Invalid, NotFound
from mapper.http import caching, limits
from mapper.store.db import get_session
from mapper.web import form_errors, mapdata

report_pages = Blueprint("reports", __name__)

CHOICES = [
    ("changed", "Its details have changed (where or when it meets, its contacts)"),
    ("closed", "It has closed or stopped meeting"),
    ("other", "Something else is wrong"),
]
HONEYPOT = "website"
THANKS = "Thank you: your note has been sent to the people who keep this group's details."


def _render(group, values, errors=None, status=200):
    messages, summary = form_errors.for_form(errors or {})
    page = render_template(
        "reports/group.html",
        group=group,
        values=values,
        errors=messages,
        summary=summary,
        choices=CHOICES,
        longest=reports.LONGEST_NOTE,
        styles=[url_for("static", filename="css/forms.css")],
        scripts=[url_for("static", filename="js/forms.js")],
    )
    return page, status, {"Cache-Control": caching.PRIVATE_CACHE_CONTROL}  # it holds a token


@report_pages.route("/groups/<int:group_id>/report", methods=["GET", "POST"])
@limits.report_limit
def report_group(group_id):
    """The form, and sending its note to the group's organisation (else the moderators)."""
    session = get_session()
    group = mapdata.public_group(session, group_id)
    if group is None:
        raise NotFound(f"There is no public group {group_id}.")
    if request.method == "GET":
        return _render(group, {})
    values = {name: request.form.get(name, "") for name in ("what", "note", "email")}
    if request.form.get(HONEYPOT, "").strip():
        flash(THANKS)  # what a person would see; a robot learns nothing
        return redirect(url_for("web.group_page", group_id=group_id))
    try:
        report = reports.clean_report(values)
    except Invalid as error:
        return _render(group, values, error.fields, 422)
    reports.report_group(session, group, report)
    flash(THANKS)
    return redirect(url_for("web.group_page", group_id=group_id))


def init_app(app):
    """Register the report form."""
    app.register_blueprint(report_pages)
