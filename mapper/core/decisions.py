"""The decision log: what a partnership decided for wards, on the evidence of a snapshot.

Administrators record decisions; editors propose them and an administrator agrees or rejects
each. A decision is public or for partners (signed-in users) only; proposals and rejected
decisions are never public. Every step is an audit event.
"""

import re
from datetime import UTC, date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from mapper.core import audit, snapshots
from mapper.errors import Conflict, Forbidden, Invalid, NotFound
from mapper.store import db
from mapper.store.evidence import (
    DECISION_ACTIONS,
    VISIBILITIES,
    Decision,
    DecisionWard,
    Snapshot,
)
from mapper.store.models import Organisation

SUMMARY_LIMIT = 5000
DECIDED_BY_LIMIT = 200
GSS_CODE = re.compile(r"^[EWSNK]\d{8}$")
FIELDS = (
    "snapshot",
    "la",
    "wards",
    "action",
    "organisation",
    "summary",
    "decided_by",
    "decided_on",
    "review_on",
    "visibility",
)


def today():
    """Return today's date in UTC."""
    return datetime.now(UTC).date()


def _text(data, name, limit, errors):
    value = str(data.get(name) or "").strip()
    if not value:
        errors[name] = "is required"
    elif len(value) > limit:
        errors[name] = f"must be at most {limit} characters"
    return value


def _day(data, name, errors):
    raw = str(data.get(name) or "").strip()
    if not raw:
        errors[name] = "is required"
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    errors[name] = f"'{raw}' is not a date in YYYY-MM-DD form"
    return None


def _whole_number(data, name, errors):
    raw = str(data.get(name) or "").strip()
    if not raw:
        errors[name] = "is required"
    elif not raw.isdigit():
        errors[name] = f"'{raw}' is not a whole number"
    else:
        return int(raw)
    return None


def clean_decision(session, data):
    """Return the values of a decision from submitted data; Invalid names every field wrong."""
    unknown = sorted(set(data) - set(FIELDS))
    errors = {name: "is not a field of a decision" for name in unknown}
    values = {
        "summary": _text(data, "summary", SUMMARY_LIMIT, errors),
        "decided_by": _text(data, "decided_by", DECIDED_BY_LIMIT, errors),
        "decided_on": _day(data, "decided_on", errors),
        "review_on": _day(data, "review_on", errors),
    }
    action = str(data.get("action") or "").strip()
    if action not in DECISION_ACTIONS:
        errors["action"] = f"choose one of {', '.join(DECISION_ACTIONS)}"
    visibility = str(data.get("visibility") or "").strip()
    if visibility not in VISIBILITIES:
        errors["visibility"] = f"choose one of {', '.join(VISIBILITIES)}"
    values.update(action=action, visibility=visibility)
    values["organisation_id"] = _organisation(session, data, action, errors)
    snapshot, wards = _evidence(session, data, errors)
    decided_on, review_on = values["decided_on"], values["review_on"]
    if decided_on and decided_on > today():
        errors["decided_on"] = "cannot be in the future"
    elif decided_on and snapshot and decided_on < snapshot.reference_date:
        errors["decided_on"] = (
            f"is before the day its evidence describes ({snapshot.reference_date.isoformat()})"
        )
    if decided_on and review_on and review_on < decided_on:
        errors["review_on"] = "must be on or after the day of the decision"
    if errors:
        raise Invalid("The decision has errors.", fields=errors)
    la_code, la_name, rows = wards
    values.update(snapshot_id=snapshot.id, la_code=la_code, la_name=la_name, wards=rows)
    return values


def _organisation(session, data, action, errors):
    raw = str(data.get("organisation") or "").strip()
    if not raw:
        if action == "devolve":
            errors["organisation"] = "is required to devolve action to an organisation"
        return None
    if not raw.isdigit() or session.get(Organisation, int(raw)) is None:
        errors["organisation"] = "is not a known organisation"
        return None
    return int(raw)


def _evidence(session, data, errors):
    """Return (snapshot, (la code, la name, [ward rows])) of the decision's evidence."""
    snapshot_id = _whole_number(data, "snapshot", errors)
    snapshot = session.get(Snapshot, snapshot_id) if snapshot_id else None
    if snapshot_id and snapshot is None:
        errors["snapshot"] = f"there is no snapshot {snapshot_id}"
    la_code = str(data.get("la") or "").strip().upper()
    if not GSS_CODE.match(la_code):
        errors["la"] = "choose a local authority"
        la_code = None
    codes = data.get("wards") or []
    codes = [codes] if isinstance(codes, str) else list(codes)
    codes = list(dict.fromkeys(str(c).strip().upper() for c in codes if str(c).strip()))
    if not codes:
        errors["wards"] = "choose at least one ward"
    if snapshot is None or la_code is None:
        return snapshot, (la_code, None, [])
    parts = {c: name for c, name, _n in snapshots.local_authorities(session, snapshot)}
    if la_code not in parts:
        errors["la"] = f"snapshot {snapshot.id} has no wards of {la_code}"
        return snapshot, (la_code, None, [])
    _columns, rows, shape_ids = snapshots.snapshot_records(session, snapshot, [la_code])
    by_code = {r["ward_code"]: (r, s) for r, s in zip(rows, shape_ids, strict=True)}
    unknown = [c for c in codes if c not in by_code]
    if unknown:
        errors["wards"] = f"not wards of {la_code} in snapshot {snapshot.id}: {', '.join(unknown)}"
        return snapshot, (la_code, parts[la_code], [])
    wards = [
        {"ward_code": c, "ward_name": by_code[c][0]["ward_name"], "shape_id": by_code[c][1]}
        for c in codes
    ]
    return snapshot, (la_code, parts[la_code], wards)


def _require_signed_in(user):
    if user is None:
        raise Forbidden("Sign in to record decisions.")


def _audited(decision):
    """The values of a decision an audit event records."""
    return {
        "action": decision.action,
        "summary": decision.summary,
        "decided_by": decision.decided_by,
        "organisation_id": decision.organisation_id,
        "decided_on": decision.decided_on.isoformat(),
        "review_on": decision.review_on.isoformat(),
        "snapshot_id": decision.snapshot_id,
        "wards": [w.ward_code for w in decision.wards],
        "visibility": decision.visibility,
        "status": decision.status,
    }


def record_decision(session, user, data):
    """Record a decision: agreed when an administrator records it, else a proposal."""
    _require_signed_in(user)
    values = clean_decision(session, data)
    wards = values.pop("wards")
    user_id, status = user.id, "agreed" if user.role == "admin" else "proposed"
    session.rollback()  # end the reading; nothing was written
    with db.write_transaction(session):
        decision = Decision(
            **values,
            status=status,
            recorded_by_id=user_id,
            wards=[DecisionWard(**w) for w in wards],
        )
        session.add(decision)
        session.flush()
        action = "record" if status == "agreed" else "propose"
        audit.record(session, action, decision, user=user, changes=_audited(decision))
    return decision


def settle_proposal(session, user, decision, agree, reason=None):
    """Agree or reject a proposed decision (administrators), with a reason to reject."""
    if user is None or user.role != "admin":
        raise Forbidden("Only administrators can agree or reject proposed decisions.")
    reason = (reason or "").strip()
    if not agree and not reason:
        raise Invalid("Give a reason.", fields={"reason": "is required to reject"})
    status = "agreed" if agree else "rejected"
    session.rollback()  # read it again once it is ours to write: another admin may be first
    with db.write_transaction(session):
        session.refresh(decision)
        if decision.status != "proposed":
            raise Conflict(f"Decision {decision.id} is {decision.status}, not proposed.")
        decision.status = status
        audit.record(
            session,
            "agree" if agree else "reject",
            decision,
            user=user,
            changes={"status": {"from": "proposed", "to": status}},
            reason=reason or None,
        )
    return decision


def visible_filter(user):
    """The WHERE clauses choosing the decisions `user` may see (None: signed out)."""
    if user is None:
        return [Decision.status == "agreed", Decision.visibility == "public"]
    return []


def visible_decisions(session, user, la_codes=(), ward_codes=(), decided_in=None):
    """Return the decisions the user may see, newest first, filtered by local authority,
    ward (as recorded) or the (start, end) days between which they were decided or are due
    for review."""
    query = (
        select(Decision)
        .where(*visible_filter(user))
        .options(selectinload(Decision.wards), selectinload(Decision.organisation))
        .order_by(Decision.decided_on.desc(), Decision.id.desc())
    )
    if la_codes:
        query = query.where(Decision.la_code.in_(list(la_codes)))
    if ward_codes:
        query = query.where(
            Decision.id.in_(
                select(DecisionWard.decision_id).where(DecisionWard.ward_code.in_(ward_codes))
            )
        )
    if decided_in:
        start, end = decided_in
        query = query.where(
            or_(
                Decision.decided_on.between(start, end),
                Decision.review_on.between(start, end),
            )
        )
    return list(session.scalars(query))


def get_decision(session, user, decision_id):
    """Return a decision the user may see; NotFound otherwise."""
    decision = session.scalar(
        select(Decision).where(Decision.id == decision_id, *visible_filter(user))
    )
    if decision is None:
        raise NotFound(f"There is no decision {decision_id}.")
    return decision


def due_for_review(decision, day=None):
    """Tell whether a decision's review date has come."""
    return (day or today()) >= decision.review_on


def evidence_rows(session, decision):
    """Return the decision's wards as its snapshot had them: the rows of the day."""
    codes = [w.ward_code for w in decision.wards]
    _columns, rows, _shapes = snapshots.snapshot_records(
        session, decision.snapshot, [decision.la_code], codes
    )
    return rows


def organisations(session):
    """Return [(id, name)] of the organisations action can be devolved to."""
    return list(session.execute(select(Organisation.id, Organisation.name).order_by("name")))
