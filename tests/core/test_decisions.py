"""The decision log (mapper.core.decisions): validation, proposals, visibility, evidence."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mapper.core import analysis, audit, decisions
from mapper.errors import Conflict, Forbidden, Invalid
from mapper.store.evidence import Decision
from mapper.store.models import AuditEvent
from tests.factories import (
    borough_with_evidence,
    make_group,
    make_user,
    trafford_across_boundary_change,
)

TODAY = date.today()


@pytest.fixture
def evidence(session):
    """Two wards, groups in the west one, a snapshot, users of both roles."""
    snapshot = borough_with_evidence(session)
    return {
        "snapshot": snapshot,
        "admin": make_user(session, "admin@council.example", "admin", "Council", True),
        "editor": make_user(session, "ed@lio.example", organisation="Small LIO"),
    }


def form(evidence, **changes):
    """A valid decision as a form sends it, with `changes`."""
    data = {
        "snapshot": str(evidence["snapshot"].id),
        "la": "E08000099",
        "wards": ["E05000002"],
        "action": "invest",
        "organisation": "",
        "summary": "Fund a community development worker for two years.",
        "decided_by": "Testshire Community Partnership Board",
        "decided_on": TODAY.isoformat(),
        "review_on": (TODAY + timedelta(days=365)).isoformat(),
        "visibility": "public",
    }
    data.update(changes)
    return data


def test_an_administrators_decision_is_agreed_and_audited(session, evidence):
    decision = decisions.record_decision(session, evidence["admin"], form(evidence))
    assert decision.status == "agreed" and decision.la_name == "Testshire"
    assert [(w.ward_code, w.ward_name) for w in decision.wards] == [("E05000002", "West Ward")]
    assert decision.wards[0].shape_id is not None
    [event] = audit.history(session, decision)
    assert (event.action, event.user_id) == ("record", evidence["admin"].id)
    assert event.changes["wards"] == ["E05000002"]


def test_an_editors_decision_is_a_proposal_an_administrator_agrees_or_rejects(session, evidence):
    proposal = decisions.record_decision(session, evidence["editor"], form(evidence))
    assert proposal.status == "proposed"
    with pytest.raises(Forbidden):
        decisions.settle_proposal(session, evidence["editor"], proposal, agree=True)
    with pytest.raises(Invalid) as raised:
        decisions.settle_proposal(session, evidence["admin"], proposal, agree=False)
    assert raised.value.fields == {"reason": "is required to reject"}
    decisions.settle_proposal(session, evidence["admin"], proposal, agree=True)
    assert proposal.status == "agreed"
    with pytest.raises(Conflict):
        decisions.settle_proposal(session, evidence["admin"], proposal, agree=False, reason="No")
    other = decisions.record_decision(session, evidence["editor"], form(evidence))
    decisions.settle_proposal(session, evidence["admin"], other, agree=False, reason="Not yet")
    assert other.status == "rejected"
    actions = [e.action for e in audit.history(session, other)]
    assert actions == ["propose", "reject"]
    assert audit.history(session, other)[-1].reason == "Not yet"


YESTERDAY, TOMORROW = TODAY - timedelta(days=1), TODAY + timedelta(days=1)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"snapshot": ""}, "snapshot"),
        ({"snapshot": "abc"}, "snapshot"),
        ({"snapshot": "999999"}, "snapshot"),
        ({"la": ""}, "la"),
        ({"la": "E08000001"}, "la"),
        ({"wards": []}, "wards"),
        ({"wards": ["E05000009"]}, "wards"),
        ({"action": "abolish"}, "action"),
        ({"action": "devolve"}, "organisation"),
        ({"organisation": "999999"}, "organisation"),
        ({"summary": "   "}, "summary"),
        ({"summary": "x" * 5001}, "summary"),
        ({"decided_by": ""}, "decided_by"),
        ({"decided_on": "1 April"}, "decided_on"),
        ({"decided_on": "2026-02-30"}, "decided_on"),
        ({"decided_on": TOMORROW.isoformat()}, "decided_on"),
        ({"decided_on": "2001-01-01"}, "decided_on"),  # before the evidence
        ({"review_on": ""}, "review_on"),
        ({"review_on": YESTERDAY.isoformat()}, "review_on"),
        ({"visibility": "secret"}, "visibility"),
        ({"owner": "me"}, "owner"),
    ],
)
def test_a_bad_decision_is_refused_naming_the_field_and_nothing_is_stored(
    session, evidence, changes, field
):
    with pytest.raises(Invalid) as raised:
        decisions.record_decision(session, evidence["admin"], form(evidence, **changes))
    assert field in raised.value.fields, raised.value.fields
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Decision)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_the_schema_itself_refuses_a_review_before_the_decision(session, evidence):
    decision = decisions.record_decision(session, evidence["admin"], form(evidence))
    decision.review_on = decision.decided_on - timedelta(days=1)
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    decision.action = "devolve"  # to no organisation
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_only_agreed_public_decisions_are_visible_signed_out(session, evidence):
    admin, editor = evidence["admin"], evidence["editor"]
    public = decisions.record_decision(session, admin, form(evidence))
    partners = decisions.record_decision(session, admin, form(evidence, visibility="partners"))
    proposed = decisions.record_decision(session, editor, form(evidence))
    seen = {d.id for d in decisions.visible_decisions(session, None)}
    assert seen == {public.id}
    seen = {d.id for d in decisions.visible_decisions(session, editor)}
    assert seen == {public.id, partners.id, proposed.id}
    assert decisions.get_decision(session, None, public.id) == public
    for hidden in (partners, proposed):
        with pytest.raises(Exception, match="no decision"):
            decisions.get_decision(session, None, hidden.id)
    by_ward = decisions.visible_decisions(session, None, ward_codes=["E05000002"])
    assert [d.id for d in by_ward] == [public.id]
    assert decisions.visible_decisions(session, None, ward_codes=["E05000001"]) == []


def test_a_decision_shows_its_snapshots_figures_after_new_groups_are_added(app, session, geodata):
    before, _after = trafford_across_boundary_change(app, session, geodata)
    admin = make_user(session, "admin@council.example", "admin", "Trafford Council", True)
    altrincham_2017 = "E05000819"
    decision = decisions.record_decision(
        session,
        admin,
        {
            "snapshot": str(before.id),
            "la": "E08000009",
            "wards": [altrincham_2017],
            "action": "monitor",
            "summary": "Watch whether the new venues are used.",
            "decided_by": "Trafford Partnership",
            "decided_on": TODAY.isoformat(),
            "review_on": TODAY.isoformat(),
            "visibility": "public",
        },
    )
    [row] = decisions.evidence_rows(session, decision)
    then = row["groups"]
    assert row["ward_name"] == "Altrincham" and then > 0
    for i in range(5):  # new groups in Altrincham's town centre
        make_group(session, f"New venue {i}", (-2.349 + i / 1000, 53.387))
    session.expire_all()
    assert analysis.compute_gaps(session, la_codes=["E08000009"])["groups"].sum() == 86
    [row] = decisions.evidence_rows(session, session.get(Decision, decision.id))
    assert row["groups"] == then
    assert row["vintage"] == "2017"
