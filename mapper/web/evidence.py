"""Blueprint `evidence`: snapshots of the gap analysis and the change between two dates.

Pages for people and the downloads they link to. A snapshot's downloads are immutable, so
they are served with a year-long `Cache-Control: immutable`.
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

from mapper.core import analysis, changes, snapshots
from mapper.errors import MapperError
from mapper.http import params
from mapper.http.auth import admin_required, current_user
from mapper.http.responses import compact_json, download
from mapper.io import exports
from mapper.store.db import get_session
from mapper.web import mapdata, maps

evidence = Blueprint("evidence", __name__)

FORMATS = ", ".join(exports.GAP_FORMATS)
# A snapshot never changes, so neither does any download of it: caches may keep one for good
# (issue 12's HTTP caching can treat these URLs as fresh for ever).
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
LIST_LIMIT = 1000


@evidence.app_template_filter("figure")
def figure(value):
    """Show a figure: a dash when missing, thousands separated, at most 3 decimals."""
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return f"{int(value):,}"


@evidence.app_template_filter("signed")
def signed(value):
    """Show a change with its sign: +2, −1.5, 0; a dash when missing."""
    if value is None:
        return "–"
    text = figure(abs(value))
    return text if value == 0 else ("+" if value > 0 else "\u2212") + text


@evidence.app_template_filter("percent")
def percent(value):
    """Show a share (0-1) as a whole percentage; a dash when missing."""
    return "–" if value is None else f"{round(value * 100)}%"


def _attribution():
    return current_app.config["BOUNDARY_ATTRIBUTION"]


def _scoped(call, *args, **kwargs):
    """Run `call`; unknown codes in its arguments are a 400 naming the parameter."""
    try:
        return call(*args, **kwargs)
    except analysis.UnknownValues as error:
        raise params.unknown_values(error) from None


# --- snapshots ------------------------------------------------------------------------


def _render_list(status=200, errors=None, values=None):
    session = get_session()
    la_codes = params.codes(request.args, "la")
    listed = snapshots.list_snapshots(session, la_codes[0] if la_codes else None, LIST_LIMIT)
    page = render_template(
        "snapshots/list.html",
        snapshots=listed,
        parts=snapshots.parts_of(session, [s.id for s in listed]),
        local_authorities=snapshots.held_local_authorities(session),
        current_local_authorities=_current_local_authorities(session),
        la=la_codes[0] if la_codes else "",
        errors=errors or {},
        values=values or {},
        styles=maps.evidence_styles(),
    )
    return page, status


def _current_local_authorities(session):
    """[(code, name)] of the local authorities of the current wards, for the admin's form."""
    return mapdata.filter_choices(session)["la"]


@evidence.get("/snapshots")
def snapshot_list():
    """The stored snapshots, newest first; administrators can take one."""
    params.only(request.args, "la")
    return _render_list()


@evidence.post("/snapshots")
@admin_required
def take_snapshot():
    """Take a snapshot of the gap analysis now (administrators)."""
    form = request.form
    values = {"la": form.get("la", ""), "label": form.get("label", "")}
    try:
        la_codes = params.codes(form, "la")
        taken = _scoped(
            snapshots.take_snapshot,
            get_session(),
            values["label"],
            la_codes,
            user=current_user(),
            attribution=_attribution(),
        )
    except MapperError as error:
        return _render_list(422, error.fields or {"la": error.message}, values)
    flash(f"Snapshot {taken.id} is stored: {taken.label}.")
    return redirect(url_for("evidence.snapshot_page", snapshot_id=taken.id))


def snapshot_links(snapshot, la_code=None):
    """The URLs of a snapshot's page and downloads (of one local authority, if given)."""
    query = {"la": la_code} if la_code else {}
    links = {"page": url_for("evidence.snapshot_page", snapshot_id=snapshot.id, **query)}
    for extension in exports.GAP_FORMATS:
        links[extension] = url_for(
            "evidence.snapshot_download", snapshot_id=snapshot.id, extension=extension, **query
        )
    return links


@evidence.get("/snapshots.json")
def snapshot_index():
    """The stored snapshots as JSON, newest first (`la`: those holding it; `limit`)."""
    params.only(request.args, "la", "limit")
    la_codes = params.codes(request.args, "la")
    limit = params.integer(request.args, "limit", 100, minimum=1, maximum=LIST_LIMIT, cap=True)
    session = get_session()
    listed = snapshots.list_snapshots(session, la_codes[0] if la_codes else None, limit)
    parts = snapshots.parts_of(session, [s.id for s in listed])
    return compact_json(
        {
            "snapshots": [
                {
                    **snapshots.describe(s),
                    "reconstructed": s.kind == "reconstructed",
                    "scope": [c for c in s.scope.split(",") if c],
                    "filters": {
                        key: s.details["parameters"][key] for key in ("category", "kind", "as_of")
                    },
                    "ward_count": s.ward_count,
                    "local_authorities": [
                        {"code": code, "name": name, "wards": count}
                        for code, name, count in parts[s.id]
                    ],
                    "links": snapshot_links(s),
                }
                for s in listed
            ]
        }
    )


@evidence.get("/snapshots/<int:snapshot_id>")
def snapshot_page(snapshot_id):
    """A snapshot: what it is, its local authorities, and the ward rows of one of them."""
    params.only(request.args, "la")
    session = get_session()
    snapshot = snapshots.get_snapshot(session, snapshot_id)
    la_codes = params.codes(request.args, "la")
    parts = snapshots.local_authorities(session, snapshot)
    shown = la_codes[0] if la_codes else (parts[0][0] if len(parts) == 1 else None)
    rows = []
    if shown is not None:
        _columns, rows, _shapes = _scoped(snapshots.snapshot_records, session, snapshot, [shown])
    return render_template(
        "snapshots/show.html",
        snapshot=snapshot,
        metadata=snapshot.details,
        parts=parts,
        shown=shown,
        rows=rows,
        links={code: snapshot_links(snapshot, code) for code, _n, _c in parts},
        all_links=snapshot_links(snapshot),
        format_labels=exports.FORMAT_LABELS,
        classes=maps.classes_by_value(),
        category_names=mapdata.category_names(session),
        styles=maps.evidence_styles(),
    )


@evidence.get(f"/snapshots/<int:snapshot_id>.<any({FORMATS}):extension>")
def snapshot_download(snapshot_id, extension):
    """A snapshot as a download, in every format of the live analysis; byte for byte the
    same every time (`la` and `ward` narrow it)."""
    srid, args = params.download_crs(request.args)
    params.only(args, "la", "ward")
    session = get_session()
    snapshot = snapshots.get_snapshot(session, snapshot_id)
    la_codes, ward_codes = params.codes(args, "la"), params.codes(args, "ward")
    frame = _scoped(snapshots.snapshot_frame, session, snapshot, la_codes, ward_codes)
    name = snapshots.filename(snapshot, extension, la_codes, ward_codes)
    return download(frame, extension, snapshot.attribution, name, IMMUTABLE, srid)


# --- changes between two dates ----------------------------------------------------------


def _change_choice(args):
    """Parse the page's or a download's choice; return (choice, earlier, later)."""
    choice = params.change_filters(args)
    earlier, later = changes.choose_snapshots(
        get_session(),
        choice["la_codes"],
        choice["from_day"],
        choice["to_day"],
        choice["from_id"],
        choice["to_id"],
    )
    return choice, earlier, later


def _change_frame(choice, earlier, later):
    return _scoped(
        changes.compute_changes,
        get_session(),
        earlier,
        later,
        choice["la_codes"],
        choice["ward_codes"],
    )


@evidence.get("/changes")
def changes_page():
    """The change per ward between two dates in one local authority: a map coloured by the
    change in groups, a table, downloads; a form to choose."""
    session = get_session()
    args = request.args
    context = {
        "local_authorities": snapshots.held_local_authorities(session),
        "values": {name: args.get(name, "") for name in params.CHANGE_PARAMETERS},
        "errors": {},
        "frame_rows": None,
        "legend": maps.legend(maps.CHANGE_CLASSES),
        "classes": maps.classes_by_value(),
        "category_names": mapdata.category_names(session),
        "styles": maps.evidence_styles(),
    }
    status = 200
    if any(args.get(name) for name in args):
        try:
            choice, earlier, later = _change_choice(args)
            if len(choice["la_codes"]) != 1:
                raise params.bad("la", "choose one local authority")
            frame = _change_frame(choice, earlier, later)
        except MapperError as error:
            status = error.status
            context["errors"] = error.fields or {"from": error.message}
        else:
            context.update(_change_context(frame, args))
    scripts, styles = maps.change_map_assets()
    if context["frame_rows"] is None:
        scripts = []
    else:
        context["styles"] = [*styles, url_for("static", filename="css/forms.css")]
    return render_template("changes.html", scripts=scripts, **context), status


def _change_context(frame, args):
    query = {name: args.get(name) for name in params.CHANGE_PARAMETERS if args.get(name)}
    downloads = [
        (label, url_for("evidence.changes_download", extension=extension, **query))
        for extension, label in exports.FORMAT_LABELS.items()
    ]
    config = current_app.config
    options = {
        "data_url": url_for("evidence.changes_download", extension="geojson", **query),
        "ward_page": url_for("web.ward_page", code="CODE").replace("CODE", "{id}"),
        "tile_url": config["TILE_URL"],
        "tile_attribution": config["TILE_ATTRIBUTION"],
        "legend": maps.legend(maps.CHANGE_CLASSES),
    }
    return {
        "frame_rows": exports.gap_records(frame),
        "metadata": frame.attrs["metadata"],
        "downloads": downloads,
        "map_options": options,
    }


@evidence.get(f"/changes.<any({FORMATS}):extension>")
def changes_download(extension):
    """The change per ward between two dates as a download (every GAP_FORMAT, `crs`)."""
    srid, args = params.download_crs(request.args)
    choice, earlier, later = _change_choice(args)
    frame = _change_frame(choice, earlier, later)
    metadata = frame.attrs["metadata"]
    attribution = later.attribution if later is not None else _attribution()
    name = changes.filename(metadata, extension)
    return download(frame, extension, attribution, name, srid=srid)


def init_app(app):
    """Register the evidence pages and downloads."""
    app.register_blueprint(evidence)
