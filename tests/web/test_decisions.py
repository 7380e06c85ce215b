"""The decision log on the web: the form, proposals, visibility, the ward page, exports."""

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from mapper.core import accounts, decisions
from mapper.store.evidence import Decision
from tests.factories import borough_with_evidence, make_group, make_user
from tests.forms import post_form, sign_in, sign_out

TODAY = date.today()


@pytest.fixture
def evidence(session):
    snapshot = borough_with_evidence(session)
    make_user(session, "admin@council.example", "admin", "Council", True)
    make_user(session, "ed@lio.example", organisation="Small LIO")
    accounts.get_or_create_organisation(session, "Westside Residents Association")
    session.commit()
    return snapshot


def decision_form(snapshot, /, **changes):
    data = {
        "snapshot": str(snapshot.id),
        "la": "E08000099",
        "wards": "E05000002",
        "action": "invest",
        "organisation": "",
        "summary": "Fund a <b>community</b> development worker.",
        "decided_by": "Testshire Partnership Board",
        "decided_on": TODAY.isoformat(),
        "review_on": (TODAY + timedelta(days=365)).isoformat(),
        "visibility": "public",
    }
    data.update(changes)
    return data


FORM = "/decisions/new?la=E08000099"


def test_an_administrator_records_a_decision_through_the_form(client, session, evidence):
    sign_in(client, "admin@council.example")
    page = client.get(FORM).get_data(as_text=True)
    assert 'name="wards" value="E05000002"' in page and "Record the decision" in page
    assert " style=" not in page and "<script>" not in page
    response = post_form(client, "/decisions/new", decision_form(evidence), FORM)
    assert response.status_code == 302
    [decision] = session.scalars(select(Decision)).all()
    assert response.headers["Location"] == f"/decisions/{decision.id}"
    assert decision.status == "agreed" and decision.snapshot_id == evidence.id
    sign_out(client)
    page = client.get(f"/decisions/{decision.id}").get_data(as_text=True)
    assert "Fund a &lt;b&gt;community&lt;/b&gt; development worker." in page
    assert "Spring evidence" in page and "admin@council.example" not in page
    # the ward's profile lists it
    ward_page = client.get("/wards/E05000002").get_data(as_text=True)
    assert f"/decisions/{decision.id}" in ward_page
    assert f"/decisions/{decision.id}" not in client.get("/wards/E05000001").get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"wards": ""}, "wards"),
        ({"action": ""}, "action"),
        ({"action": "devolve"}, "organisation"),
        ({"summary": ""}, "summary"),
        ({"decided_by": " "}, "decided_by"),
        ({"decided_on": "31/12/2026"}, "decided_on"),
        ({"review_on": (TODAY - timedelta(days=3)).isoformat()}, "review_on"),
        ({"visibility": ""}, "visibility"),
        ({"snapshot": "999999"}, "snapshot"),
    ],
)
def test_the_form_names_what_is_wrong_and_keeps_what_was_typed(
    client, session, evidence, changes, field
):
    sign_in(client, "admin@council.example")
    response = post_form(client, "/decisions/new", decision_form(evidence, **changes), FORM)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and f'href="#{field}"' in page
    assert "Testshire Partnership Board" in page or field in ("decided_by", "snapshot")
    assert session.scalar(select(func.count()).select_from(Decision)) == 0


def test_an_editor_proposes_and_an_administrator_agrees(client, session, evidence):
    sign_in(client, "ed@lio.example")
    data = decision_form(evidence, action="devolve", visibility="partners")
    organisation = dict(decisions.organisations(session))
    data["organisation"] = str(
        next(i for i, name in organisation.items() if name == "Westside Residents Association")
    )
    response = post_form(client, "/decisions/new", data, FORM)
    assert response.status_code == 302
    [decision] = session.scalars(select(Decision)).all()
    assert decision.status == "proposed"
    page = client.get(f"/decisions/{decision.id}").get_data(as_text=True)
    assert "Westside Residents Association" in page and "Agree" not in page
    sign_out(client)
    assert client.get(f"/decisions/{decision.id}").status_code == 404
    sign_in(client, "admin@council.example")
    url = f"/decisions/{decision.id}"
    response = post_form(client, f"{url}/settle", {"settle": "agree"}, url)
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Decision, decision.id).status == "agreed"
    page = client.get(url).get_data(as_text=True)
    assert "ed@lio.example" in page  # the history, for administrators only
    sign_out(client)
    assert client.get(url).status_code == 404  # partners only, still


def test_at_the_review_date_the_page_shows_the_change_since_the_decision(client, session, evidence):
    admin = accounts.find_user(session, "admin@council.example")
    decision = decisions.record_decision(
        session,
        admin,
        {**decision_form(evidence), "review_on": TODAY.isoformat(), "wards": ["E05000002"]},
    )
    make_group(session, "Newcomer", (-2.02, 53.45))
    page = client.get(f"/decisions/{decision.id}").get_data(as_text=True)
    assert (
        "From the decision&#39;s snapshot to now" in page
        or "From the decision's snapshot to now" in page
    )
    assert "+1" in page
    later = decisions.record_decision(session, admin, decision_form(evidence))
    page = client.get(f"/decisions/{later.id}").get_data(as_text=True)
    assert "The review is due on" in page


def test_decisions_export_as_geojson_and_csv_without_hidden_ones(client, session, evidence):
    admin = accounts.find_user(session, "admin@council.example")
    editor = accounts.find_user(session, "ed@lio.example")
    public = decisions.record_decision(session, admin, decision_form(evidence))
    decisions.record_decision(
        session, admin, decision_form(evidence, summary="Partners only plan", visibility="partners")
    )
    decisions.record_decision(session, editor, decision_form(evidence, summary="Mere proposal"))
    data = client.get("/decisions.geojson").get_json()
    assert [f["id"] for f in data["features"]] == [public.id]
    feature = data["features"][0]
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert feature["properties"]["ward_codes"] == ["E05000002"]
    assert feature["properties"]["snapshot_id"] == evidence.id
    text = client.get("/decisions.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["id"] for r in rows] == [str(public.id)]
    assert "Partners only" not in text and "Mere proposal" not in text
    markers = client.get("/map/decisions.geojson?la=E08000099").get_json()["features"]
    assert [(m["properties"]["id"], m["geometry"]["type"]) for m in markers] == [
        (public.id, "Point")
    ]
    sign_in(client, "ed@lio.example")
    assert len(client.get("/decisions.geojson").get_json()["features"]) == 3


def test_signed_out_visitors_cannot_reach_the_form(client, session, evidence):
    response = client.get(FORM)
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
