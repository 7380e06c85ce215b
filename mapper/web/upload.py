"""Blueprint `upload`: editors upload a spreadsheet or GIS file of groups, preview, then import.

One upload is a folder of its own (`io.uploads`); the preview runs the whole import and rolls
it back, so every row's fate is the one the import gives; the import runs it again for real.
"""

import csv
import io
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import secure_filename

from mapper.core import uploads as group_uploads
from mapper.core.groups import needs_approval
from mapper.errors import Invalid
from mapper.http.auth import current_user, sign_in_required
from mapper.io import uploads
from mapper.io.columns import data_columns
from mapper.io.reading import Rejection, read_any
from mapper.store.db import get_session

upload = Blueprint("upload", __name__)


PAGE_ROWS = 100  # rows of the preview table per page


# The targets a person may map columns to, in the order the page shows them.
TARGET_LABELS = {
    "name": "Name",
    "description": "Description",
    "categories": "Activities (categories)",
    "kind": "Kind of group",
    "address": "Address",
    "postcode": "Postcode",
    "lon": "Longitude",
    "lat": "Latitude",
    "easting": "Easting",
    "northing": "Northing",
    "website": "Website",
    "contact_public": "Public contact",
    "meeting_times": "When it meets",
    "charity_number": "Charity number",
    "org_ids": "Org-ids (such as GB-CHC-1234567; separate several with ;)",
    "external_id": "Your reference (id)",
    "status": "Status",
    "wards_served": "Other wards it works in",
    "last_verified": "Last checked (YYYY-MM-DD)",
    "active_from": "Active from (YYYY-MM-DD)",
    "active_until": "Active until (YYYY-MM-DD)",
}


# The template's columns and an example row (a made-up group).
TEMPLATE = {
    "name": "Larkspur Knit and Natter",
    "description": "Knitting and a chat over tea",
    "categories": "social-befriending; arts-culture",
    "kind": "informal group",
    "address": "Community Centre, 1 High Street",
    "postcode": "M1 1AA",
    "lon": "",
    "lat": "",
    "website": "https://larkspur.example",
    "contact": "hello@larkspur.example",
    "meeting_times": "Thursdays 14:00",
    "charity_number": "",
    "org_ids": "",
    "id": "LK-001",
}

FATE_LABELS = {
    "new": "New",
    "update": "Updated",
    "unchanged": "Unchanged",
    "rejected": "Rejected",
}


def _folder():
    return Path(current_app.config["UPLOAD_FOLDER"] or Path(current_app.instance_path) / "uploads")


def _limits():
    config = current_app.config
    return {"bytes": config["UPLOAD_MAX_BYTES"], "rows": config["UPLOAD_MAX_ROWS"]}


def _megabytes(count):
    return f"{count / (1024 * 1024):g} MB"


def _styles():
    return [url_for("static", filename="css/forms.css")]


def _scripts():
    return [url_for("static", filename="js/forms.js"), url_for("static", filename="js/upload.js")]


def _form_page(errors=(), status=200):
    page = render_template(
        "groups/upload.html",
        errors=list(errors),
        limits=_limits(),
        max_size=_megabytes(_limits()["bytes"]),
        styles=_styles(),
        scripts=_scripts(),
    )
    return page, status


def _allow_large_files():
    """Let the upload form's request be as large as UPLOAD_MAX_BYTES (1 MiB elsewhere).

    Registered before the CSRF check, which is the first to read the form.
    """
    if request.endpoint == "upload.start" and request.method == "POST":
        request.max_content_length = current_app.config["UPLOAD_MAX_BYTES"]


@upload.errorhandler(RequestEntityTooLarge)
def _too_large(_error):
    size = _megabytes(_limits()["bytes"])
    reason = f"The file is larger than {size}: split it and upload the parts"
    return _form_page([("file", reason)], 413)


@upload.route("/groups/upload", methods=["GET", "POST"], endpoint="start")
@sign_in_required
def start():
    """The upload form; a posted file is kept and previewed."""
    if request.method == "GET":
        return _form_page()
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return _form_page([("file", "Choose a file to upload")], 422)
    try:
        stored = uploads.store_upload(_folder(), sent.stream, sent.filename, current_user().id)
    except Invalid as error:
        return _form_page([("file", error.fields.get("file", error.message))], 422)
    finally:
        sent.close()  # a large file is spooled to a temporary file: let it go now
    try:
        _preview(stored, None)
    except Invalid as error:  # unreadable, or too many rows
        uploads.remove_upload(stored)
        return _form_page([("file", _file_problem(error))], error.status)
    return redirect(url_for("upload.preview", token=stored.token))


def _file_problem(error):
    """Say what is wrong with the file: too many rows, or why it cannot be read."""
    return error.message if "file" in error.fields else f"The file cannot be read: {error.message}"


def _report(outcome, reading, fates):
    return {
        "counts": dict(zip(("new", "update", "unchanged"), outcome[:3], strict=True)),
        "rejected": len(reading.rejected),
        "notes": reading.notes,
        "fates": [list(fate) for fate in fates],
    }


def _preview(stored, fields):
    """Try the import of an upload and keep its report and the columns it read."""
    session = get_session()
    reading = group_uploads.read_groups(session, stored.path, fields, _limits()["rows"])
    outcome, fates = group_uploads.import_groups(session, current_user(), reading, write=False)
    frame = read_any(stored.path)
    uploads.update_meta(
        stored,
        fields=fields,
        columns=[str(c) for c in data_columns(frame)],
        chosen=group_uploads.chosen_columns(frame, fields),
        report=_report(outcome, reading, fates),
    )


def _stored(token):
    return uploads.find_upload(_folder(), token, current_user().id)


@upload.get("/groups/upload/<token>")
@sign_in_required
def preview(token):
    """The preview: columns chosen, each row's fate, the rejected rows and the import button."""
    stored = _stored(token)
    report = stored.meta["report"]
    fate = request.args.get("fate", "")
    rows = [r for r in report["fates"] if not fate or r[2] == fate]
    page_count = max(1, -(-len(rows) // PAGE_ROWS))
    try:
        page = min(max(1, int(request.args.get("page", 1))), page_count)
    except ValueError:
        page = 1
    return render_template(
        "groups/upload_preview.html",
        stored=stored,
        report=report,
        imported=stored.meta.get("imported"),
        rows=rows[(page - 1) * PAGE_ROWS : page * PAGE_ROWS],
        fate=fate,
        page=page,
        page_count=page_count,
        fate_labels=FATE_LABELS,
        columns=stored.meta["columns"],
        chosen=stored.meta["chosen"],
        targets=TARGET_LABELS,
        styles=_styles(),
        scripts=_scripts(),
    )


@upload.post("/groups/upload/<token>")
@sign_in_required
def remap(token):
    """Preview again with the columns the person chose."""
    stored = _stored(token)
    if stored.meta.get("imported"):
        return redirect(url_for("upload.preview", token=token))
    fields = {target: request.form.get(f"field-{target}") or None for target in TARGET_LABELS}
    try:
        _preview(stored, fields)
    except Invalid as error:
        flash(f"Those columns cannot be read: {error.message}")
    return redirect(url_for("upload.preview", token=token))


@upload.post("/groups/upload/<token>/import")
@sign_in_required
def run(token):
    """Import the upload in one transaction and show what it did."""
    stored = _stored(token)
    if stored.meta.get("imported"):
        flash("This file was already imported.")
        return redirect(url_for("upload.preview", token=token))
    session, user = get_session(), current_user()
    reading = group_uploads.read_groups(
        session, stored.path, stored.meta.get("fields"), _limits()["rows"]
    )
    outcome, fates = group_uploads.import_groups(session, user, reading, write=True)
    uploads.update_meta(stored, report=_report(outcome, reading, fates), imported=True)
    waiting = " New groups wait for an administrator's approval." if needs_approval(user) else ""
    flash(
        f"Imported {stored.meta['filename']}: {outcome.added} new, {outcome.updated} updated, "
        f"{outcome.unchanged} unchanged, {len(reading.rejected)} rejected.{waiting}"
    )
    return redirect(url_for("upload.preview", token=token))


@upload.get("/groups/upload/<token>/rejected.csv")
@sign_in_required
def rejected(token):
    """The rejected rows as the file had them, with a `problem` column, to fix and upload."""
    stored = _stored(token)
    fates = stored.meta["report"]["fates"]
    rows = [Rejection(i, at, reason) for i, at, fate, _, reason in fates if fate == "rejected"]
    body = uploads.rejected_csv(stored.path, rows)
    name = (secure_filename(Path(stored.meta["filename"]).stem) or "upload") + "-rejected.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@upload.get("/groups/upload/template.csv")
def template():
    """A CSV with the columns an upload reads, and one made-up example row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(TEMPLATE)
    writer.writerow(TEMPLATE.values())
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="community-groups-template.csv"'},
    )


def init_app(app):
    """Register the upload pages; their size limit is set before any other hook reads the
    request (the body guard, the CSRF check)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _allow_large_files)
    app.register_blueprint(upload)
