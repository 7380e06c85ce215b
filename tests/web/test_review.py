"""The annual review pack (mapper.core.review) as a page and a PDF."""

import io
from datetime import date

import pytest
from pypdf import PdfReader

from mapper.core import decisions, review, snapshots
from tests.factories import make_group, make_user, two_wards
from tests.forms import sign_in

LA = "E08000099"


@pytest.fixture
def year_of_evidence(session):
    """Groups that started in 2025 and 2026, monthly snapshots reconstructed from June 2025,
    and decisions on the March 2026 snapshot: one public, one for partners only."""
    two_wards(session)
    make_group(session, "Old Club", (-2.05, 53.45), active_from=date(2025, 3, 1))
    make_group(session, "Spring Club", (-1.95, 53.45), active_from=date(2026, 2, 10))
    make_group(session, "Summer Club", (-1.96, 53.45), active_from=date(2026, 6, 10))
    snapshots.backfill(session, date(2025, 6, 1), date(2026, 3, 1), [LA])
    march = snapshots.snapshot_on(session, date(2026, 3, 1), [LA])
    admin = make_user(session, "admin@council.example", "admin", "Council", True)
    base = {
        "snapshot": str(march.id),
        "la": LA,
        "wards": ["E05000001"],
        "action": "invest",
        "decided_by": "Testshire Partnership Board",
        "decided_on": "2026-03-10",
        "review_on": "2026-09-10",
    }
    public = decisions.record_decision(
        session, admin, {**base, "summary": "Grow groups in the east.", "visibility": "public"}
    )
    decisions.record_decision(
        session,
        admin,
        {**base, "summary": "Quietly fund the Quillfeather pilot.", "visibility": "partners"},
    )
    return march, public


def pdf_text(data):
    reader = PdfReader(io.BytesIO(data))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def test_the_pack_holds_the_years_change_and_its_decisions_movement(session, year_of_evidence):
    march, public = year_of_evidence
    pack = review.annual_review(session, None, LA, 2026, today=date(2026, 12, 1))
    assert pack.earlier.reference_date == date(2026, 1, 1) and pack.later is None
    east = {r["ward_code"]: r for r in pack.change.to_dict("records")}["E05000001"]
    assert (east["groups_from"], east["groups_to"]) == (0, 2)
    assert [m.decision.id for m in pack.movements] == [public.id]  # partners-only is hidden
    [movement] = pack.movements
    assert movement.due and [r["groups_to"] for r in movement.rows] == [2]
    assert [r["groups"] for r in movement.evidence] == [1]  # March: Spring Club only
    last_year = review.annual_review(session, None, LA, 2025, today=date(2026, 12, 1))
    assert last_year.earlier.reference_date == date(2025, 6, 1)
    assert last_year.later.reference_date == date(2025, 12, 1)
    assert last_year.movements == []


def test_the_pack_page_and_pdf_show_partners_only_decisions_to_partners_only(
    client, session, year_of_evidence
):
    page = client.get(f"/review/{LA}?year=2026")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Annual review 2026: Testshire" in text and "Grow groups in the east." in text
    assert "Quillfeather" not in text
    response = client.get(f"/review/{LA}.pdf?year=2026")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="annual-review_{LA}_2026.pdf"'
    )
    reader, text = pdf_text(response.get_data())
    assert len(reader.pages) >= 1
    for expected in ("Annual review 2026: Testshire", "Grow groups in the east.", "West Ward"):
        assert expected in text
    assert "Quillfeather" not in text
    sign_in(client, "admin@council.example")
    _, text = pdf_text(client.get(f"/review/{LA}.pdf?year=2026").get_data())
    assert "Quillfeather" in text


@pytest.mark.parametrize(
    ("url", "status"),
    [
        (f"/review/{LA}?year=1990", 400),
        (f"/review/{LA}?year=soon", 400),
        (f"/review/{LA}?colour=red", 400),
        ("/review/E08000001", 404),
        ("/review/banana", 404),
        ("/review/banana.pdf", 404),
    ],
)
def test_a_pack_that_cannot_be_made_is_refused(client, session, year_of_evidence, url, status):
    assert client.get(url).status_code == status


def test_the_index_lists_the_local_authorities_with_snapshots(client, session, year_of_evidence):
    text = client.get("/review").get_data(as_text=True)
    assert f"/review/{LA}" in text and "Testshire" in text
