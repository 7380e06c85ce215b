"""Blueprint `decisions`: the partnership's decision log — pages, the form, downloads and
the map layer. Public decisions are for everyone; partners-only ones and proposals for
signed-in users."""

import shapely
from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from mapper import geo
from mapper.core import accounts, analysis, audit, changes, decisions, snapshots
from mapper.errors import Invalid, MapperError
from mapper.http import params
from mapper.http.auth import current_user, sign_in_required
from mapper.http.responses import geojson_response
from mapper.io import exports
from mapper.store.db import get_session
from mapper.store.evidence import Snapshot
from mapper.store.models import as_record_id
from mapper.web import mapdata, maps

decisions_pages = Blueprint("decisions", __name__)

ACTIONS = {
    "invest": "Invest in community development",
    "devolve": "Devolve action to an organisation",
    "monitor": "Monitor",
}
LABELS = {
    "snapshot": "Evidence (snapshot)",
    "la": "Local authority",
    "wards": "Wards",
    "action": "What was decided",
    "organisation": "Organisation",
    "summary": "The decision",
    "decided_by": "Decided by",
    "decided_on": "Decided on",
    "review_on": "Review on",
    "visibility": "Who can see it",
}
EXPORT_FIELDS = (
    "id",
    "action",
    "summary",
    "decided_by",
    "organisation",
    "decided_on",
    "review_on",
    "status",
    "visibility",
    "la_code",
    "la_name",
    "ward_codes",
    "ward_names",
    "snapshot_id",
    "snapshot_label",
    "snapshot_reference_date",
)


def decision_properties(decision):
    """Return what a decision's export and map marker say about it."""
    return {
        "id": decision.id,
        "action": decision.action,
        "summary": decision.summary,
        "decided_by": decision.decided_by,
        "organisation": decision.organisation.name if decision.organisation else None,
        "decided_on": decision.decided_on.isoformat(),
        "review_on": decision.review_on.isoformat(),
        "status": decision.status,
        "visibility": decision.visibility,
        "la_code": decision.la_code,
        "la_name": decision.la_name,
        "ward_codes": [w.ward_code for w in decision.wards],
        "ward_names": [w.ward_name for w in decision.wards],
        "snapshot_id": decision.snapshot_id,
        "snapshot_label": decision.snapshot.label,
        "snapshot_reference_date": decision.snapshot.reference_date.isoformat(),
    }


def _listed(args):
    params.only(args, "la", "ward")
    return decisions.visible_decisions(
        get_session(),
        current_user(),
        la_codes=params.codes(args, "la"),
        ward_codes=params.codes(args, "ward"),
    )


@decisions_pages.get("/decisions")
def decision_list():
    """The decision log, newest first (`la`, `ward` narrow it)."""
    listed = _listed(request.args)
    query = {k: request.args.get(k) for k in ("la", "ward") if request.args.get(k)}
    return render_template(
        "decisions/list.html",
        decisions=listed,
        actions=ACTIONS,
        local_authorities=snapshots.held_local_authorities(get_session()),
        la=query.get("la", "").upper(),
        downloads=[
            (ext.upper(), url_for("decisions.decision_download", extension=ext, **query))
            for ext in ("geojson", "csv")
        ],
        styles=maps.evidence_styles(),
    )


def _ward_shapes(listed):
    """{shape id: shape} of the wards of the decisions listed."""
    ids = [w.shape_id for d in listed for w in d.wards if w.shape_id is not None]
    return snapshots.shapes_by_id(get_session(), ids)


@decisions_pages.get("/decisions.<any(geojson, csv):extension>")
def decision_download(extension):
    """The decisions the asker may see: GeoJSON (their wards' shapes as they were) or CSV."""
    listed = _listed(request.args)
    records = [decision_properties(d) for d in listed]
    if extension == "csv":
        body = exports.rows_csv(list(EXPORT_FIELDS), records)
        mimetype = exports.CSV_MIMETYPE
    else:
        shapes = _ward_shapes(listed)
        features = [
            exports.feature(
                geo.as_multipolygon(
                    shapely.union_all([shapes[w.shape_id] for w in d.wards if w.shape_id in shapes])
                ),
                record,
                feature_id=d.id,
            )
            for d, record in zip(listed, records, strict=True)
        ]
        body = exports.geojson_text(exports.feature_collection(features))
        mimetype = exports.GEOJSON_MIMETYPE
    name = f"community-decisions_{request.args.get('la') or 'all'}.{extension}"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@decisions_pages.get("/map/decisions.geojson")
def map_decisions():
    """Decisions as points inside their wards, for the map's decisions layer (`la`)."""
    params.only(request.args, "la")
    listed = decisions.visible_decisions(
        get_session(), current_user(), la_codes=params.codes(request.args, "la")
    )
    shapes = _ward_shapes(listed)
    features = []
    for decision in listed:
        properties = {
            key: value
            for key, value in decision_properties(decision).items()
            if key in ("id", "action", "decided_on", "review_on", "decided_by", "status")
        }
        for ward in decision.wards:
            if ward.shape_id in shapes:
                point = shapely.point_on_surface(shapes[ward.shape_id])
                features.append(
                    exports.feature(
                        point,
                        {**properties, "ward_code": ward.ward_code, "ward_name": ward.ward_name},
                    )
                )
    return geojson_response(exports.feature_collection(features))


def _form_values(source):
    values = {name: source.get(name, "") for name in decisions.FIELDS if name != "wards"}
    values["wards"] = source.getlist("wards")
    return values


def _render_form(values, errors=None, status=200):
    session = get_session()
    snapshot, wards, la_choices = None, [], snapshots.held_local_authorities(session)
    snapshot_id = str(values.get("snapshot") or "")
    la = str(values.get("la") or "").upper()
    if not snapshot_id and la:  # the newest evidence of the authority by default
        newest = snapshots.list_snapshots(session, la, limit=1)
        snapshot_id = str(newest[0].id) if newest else ""
        values["snapshot"] = snapshot_id
    if as_record_id(snapshot_id) is not None:
        snapshot = session.get(Snapshot, as_record_id(snapshot_id))
    if snapshot is not None and la:
        try:
            _c, wards, _s = snapshots.snapshot_records(session, snapshot, [la])
        except analysis.UnknownValues:
            errors = {**(errors or {}), "la": f"snapshot {snapshot.id} has no wards of {la}"}
    page = render_template(
        "decisions/new.html",
        values=values,
        errors=errors or {},
        labels=LABELS,
        actions=ACTIONS,
        snapshot=snapshot,
        snapshot_choices=snapshots.list_snapshots(session, la or None, limit=200),
        la_choices=la_choices,
        wards=wards,
        organisations=decisions.organisations(session),
        today=decisions.today().isoformat(),
        styles=maps.evidence_styles(),
    )
    return page, status


@decisions_pages.route("/decisions/new", methods=["GET", "POST"])
@sign_in_required
def new_decision():
    """Record a decision (administrators) or propose one (editors)."""
    if request.method == "GET":
        values = _form_values(request.args)
        values.setdefault("visibility", "public")
        values["visibility"] = values["visibility"] or "public"
        return _render_form(values)
    values = _form_values(request.form)
    try:
        decision = decisions.record_decision(get_session(), current_user(), values)
    except Invalid as error:
        return _render_form(values, error.fields, 422)
    if decision.status == "agreed":
        flash("The decision is recorded.")
    else:
        flash("The decision is proposed: an administrator will agree or reject it.")
    return redirect(url_for("decisions.decision_page", decision_id=decision.id))


@decisions_pages.get("/decisions/<int:decision_id>")
def decision_page(decision_id):
    """A decision, the evidence of its day, and at its review date the change since."""
    params.only(request.args)
    session, user = get_session(), current_user()
    decision = decisions.get_decision(session, user, decision_id)
    evidence = decisions.evidence_rows(session, decision)
    due = decisions.due_for_review(decision)
    movement, movement_error = None, None
    if due:
        try:
            frame = changes.compute_changes(
                session,
                decision.snapshot,
                None,
                [decision.la_code],
                [w.ward_code for w in decision.wards],
            )
            movement = exports.gap_records(frame)
        except MapperError as error:  # e.g. the authority has no current wards any more
            movement_error = error.message
    history = audit.history(session, decision) if user and user.role == "admin" else []
    return render_template(
        "decisions/show.html",
        decision=decision,
        actions=ACTIONS,
        evidence=evidence,
        due=due,
        movement=movement,
        movement_error=movement_error,
        history=history,
        emails=accounts.emails_of(session, [e.user_id for e in history]),
        classes=maps.classes_by_value(),
        category_names=mapdata.category_names(session),
        styles=maps.evidence_styles(),
    )


@decisions_pages.post("/decisions/<int:decision_id>/settle")
@sign_in_required
def settle_decision(decision_id):
    """Agree or reject a proposed decision (administrators)."""
    session, user = get_session(), current_user()
    decision = decisions.get_decision(session, user, decision_id)
    agree = request.form.get("settle") == "agree"
    if request.form.get("settle") not in ("agree", "reject"):
        raise Invalid("Choose agree or reject.", fields={"settle": "choose one"})
    decisions.settle_proposal(session, user, decision, agree, request.form.get("reason"))
    flash("The decision is agreed." if agree else "The proposal is rejected.")
    return redirect(url_for("decisions.decision_page", decision_id=decision.id))


def init_app(app):
    """Register the decision log's pages, downloads and map layer."""
    app.register_blueprint(decisions_pages)
