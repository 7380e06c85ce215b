"""Blueprint `notes`: partners' intelligence on a ward — the form, a note's page with its
replies, resolving, following a ward, the partners' downloads and the map layer.

Signed out, only public notes are shown (never a reply, never who wrote them); the
downloads are for partners only.
"""

import shapely
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from mapper.core import notes
from mapper.errors import Invalid
from mapper.http import params
from mapper.http.auth import current_user, sign_in_required
from mapper.http.responses import geojson_response
from mapper.io import exports
from mapper.store import queries
from mapper.store.db import get_session
from mapper.web import mapdata, maps

notes_pages = Blueprint("notes", __name__)

LABELS = {
    "text": "What you know",
    "categories": "Activities it concerns",
    "lon": "Longitude",
    "lat": "Latitude",
    "review_on": "Review on",
    "visibility": "Who can see it",
}
EXPORT_FIELDS = (
    "id",
    "ward_code",
    "ward_name",
    "la_code",
    "la_name",
    "text",
    "categories",
    "review_on",
    "visibility",
    "status",
    "organisation",
    "created_at",
    "replies",
    "lon",
    "lat",
)


def _styles():
    return maps.evidence_styles()


def _scripts():
    return [url_for("static", filename="js/forms.js")]


def _located(note, wards_points):
    """The note's own point, else a point inside its ward (the ward's label point)."""
    return notes.point_of(note) or wards_points.get(note.ward_code)


def _ward_points(session, listed):
    codes = sorted({n.ward_code for n in listed})
    if not codes:
        return {}
    return {w.code: shapely.point_on_surface(g) for w, g in queries.wards(session, codes=codes)}


def note_properties(note):
    """What a note's export says: no author's name or email, only their organisation."""
    point = notes.point_of(note)
    author = note.author
    return {
        "id": note.id,
        "ward_code": note.ward_code,
        "ward_name": note.ward_name,
        "la_code": note.la_code,
        "la_name": note.la_name,
        "text": note.text,
        "categories": list(note.categories or []),
        "review_on": note.review_on.isoformat() if note.review_on else None,
        "visibility": note.visibility,
        "status": note.status,
        "organisation": author.organisation.name if author and author.organisation else None,
        "created_at": note.created_at.isoformat(),
        "replies": len(note.replies),
        "lon": point.x if point else None,
        "lat": point.y if point else None,
    }


def _listed(args):
    params.only(args, "la", "ward")
    return notes.visible_notes(
        get_session(),
        current_user(),
        la_codes=params.codes(args, "la"),
        ward_codes=params.codes(args, "ward"),
    )


@notes_pages.get("/notes.<any(geojson, csv):extension>")
@sign_in_required
def note_download(extension):
    """Every note of the scope (`la`, `ward`) for partners: GeoJSON points or CSV."""
    listed = _listed(request.args)
    records = [note_properties(n) for n in listed]
    if extension == "csv":
        body = exports.rows_csv(list(EXPORT_FIELDS), records)
        mimetype = exports.CSV_MIMETYPE
    else:
        points = _ward_points(get_session(), listed)
        features = [
            exports.feature(_located(n, points), record, feature_id=n.id)
            for n, record in zip(listed, records, strict=True)
        ]
        body = exports.geojson_text(exports.feature_collection(features))
        mimetype = exports.GEOJSON_MIMETYPE
    scope = request.args.get("ward") or request.args.get("la") or "all"
    name = f"ward-notes_{scope}.{extension}"
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@notes_pages.get("/map/notes.geojson")
def map_notes():
    """The notes the asker may see as points (`la`, `ward`), for the map's notes layer."""
    listed = _listed(request.args)
    points = _ward_points(get_session(), listed)
    keep = ("id", "ward_code", "ward_name", "text", "status", "visibility", "review_on")
    features = [
        exports.feature(
            _located(n, points), {k: v for k, v in note_properties(n).items() if k in keep}
        )
        for n in listed
        if _located(n, points) is not None
    ]
    return geojson_response(exports.feature_collection(features))


def _form_values(source):
    values = {name: source.get(name, "") for name in notes.FIELDS if name != "categories"}
    values["categories"] = source.getlist("categories")
    values["visibility"] = values["visibility"] or "partners"
    return values


@notes_pages.route("/wards/<code>/notes/new", methods=["GET", "POST"])
@sign_in_required
def new_note(code):
    """Post a note on a ward (partners)."""
    session, user = get_session(), current_user()
    ward, _geom = notes.find_ward(session, code)
    values = _form_values(request.form if request.method == "POST" else request.args)
    errors, status = {}, 200
    if request.method == "POST":
        try:
            note = notes.post_note(session, user, ward.code, values)
        except Invalid as error:
            errors, status = error.fields, 422
        else:
            flash("Your note is posted.")
            return redirect(url_for("notes.note_page", note_id=note.id))
    page = render_template(
        "notes/new.html",
        ward=ward,
        values=values,
        errors=errors,
        labels=LABELS,
        categories=sorted(mapdata.category_names(session).items(), key=lambda kv: kv[1]),
        today=notes.today().isoformat(),
        styles=_styles(),
        scripts=_scripts(),
    )
    return page, status


@notes_pages.get("/notes/<int:note_id>")
def note_page(note_id):
    """A note; for partners its replies, the reply form and resolving."""
    params.only(request.args)
    return _render_note(notes.get_note(get_session(), current_user(), note_id))


def _render_note(note, errors=None, values=None, status=200):
    """A note's page: its replies and forms for partners, a refused reply's errors."""
    user = current_user()
    page = render_template(
        "notes/show.html",
        note=note,
        point=notes.point_of(note),
        replies=notes.replies_for(user, note),
        partner=notes.is_partner(user),
        category_names=mapdata.category_names(get_session()),
        errors=errors or {},
        values=values or {},
        styles=_styles(),
        scripts=_scripts(),
    )
    return page, status


@notes_pages.post("/notes/<int:note_id>/replies")
@sign_in_required
def reply_to_note(note_id):
    """Reply to a note (partners)."""
    session, user = get_session(), current_user()
    note = notes.get_note(session, user, note_id)
    try:
        notes.reply(session, user, note, request.form.get("text"))
    except Invalid as error:
        return _render_note(note, error.fields, {"text": request.form.get("text", "")}, 422)
    flash("Your reply is posted.")
    return redirect(url_for("notes.note_page", note_id=note.id) + "#replies-heading")


@notes_pages.post("/notes/<int:note_id>/status")
@sign_in_required
def note_status(note_id):
    """Resolve or reopen a note (partners)."""
    session, user = get_session(), current_user()
    note = notes.get_note(session, user, note_id)
    wanted = request.form.get("status")
    if wanted not in ("resolved", "open"):
        raise Invalid("Choose resolved or open.", fields={"status": "choose resolved or open"})
    notes.set_resolved(session, user, note, wanted == "resolved")
    flash("The note is resolved." if wanted == "resolved" else "The note is open again.")
    return redirect(url_for("notes.note_page", note_id=note.id))


@notes_pages.post("/wards/<code>/follow")
@sign_in_required
def follow_ward(code):
    """Follow a ward (an email on each new note), or stop following it."""
    wanted = request.form.get("follow")
    if wanted not in ("yes", "no"):
        raise Invalid("Choose to follow or not.", fields={"follow": "choose yes or no"})
    ward = notes.follow(get_session(), current_user(), code, wanted == "yes")
    if wanted == "yes":
        flash(f"You follow {ward.name}: you will be sent an email on each new note.")
    else:
        flash(f"You no longer follow {ward.name}.")
    return redirect(url_for("web.ward_page", code=ward.code) + "#notes-heading")


def init_app(app):
    """Register the notes' pages, downloads and map layer."""
    app.register_blueprint(notes_pages)
