"""The printable ward packs (mapper.web.packs): PDFs of a ward and of a local authority."""

import io
from datetime import date

import pytest
from pypdf import PdfReader

from mapper.core import profiles
from tests.factories import make_group, make_service, two_wards

LA = "E08000099"
MANY = 130  # more groups than fit on one page, and more than a ward page lists


@pytest.fixture
def borough(session):
    """Two wards: the east one with many groups (two with categories) and a service."""
    two_wards(session)
    make_group(session, "Aardvark Food Bank", (-1.95, 53.45), categories=["food-support"])
    make_group(session, "Zebra Faith Circle", (-1.94, 53.46), categories=["faith"],
               last_verified=date(2026, 3, 4))  # fmt: skip
    for i in range(MANY):
        make_group(session, f"East Club {i:03d}", (-1.99 + i / 2000, 53.41))
    make_group(session, "West Walkers", (-2.05, 53.45))
    make_group(session, "Closed Quillfeather Club", (-1.95, 53.44), status="closed")
    make_service(session, "Eastside Library", (-1.93, 53.47), provider="Testshire Libraries")


def pdf_text(data):
    reader = PdfReader(io.BytesIO(data))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def flat(text):
    return " ".join(text.split())


def test_the_ward_pack_has_the_profiles_figures_every_group_and_the_method(client, borough):
    response = client.get("/wards/e05000001.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="ward-pack_E05000001_'
    )
    reader, text = pdf_text(response.get_data())
    words = flat(text)
    assert "Ward pack: East Ward" in words and "Testshire" in words
    # the figures in words, as the ward's profile says them
    profile = client.get("/wards/E05000001").get_data(as_text=True)
    assert f"{profiles.plural(MANY + 2, 'active group')} based in the ward" in words
    assert f"{profiles.plural(MANY + 2, 'active group')} based in the ward" in profile
    assert "1 service based in the ward" in words
    assert "Activities found here" in words and "Food support" in words
    assert "Activities missing" in words
    # every group (past the page's 40) and the service, and nothing closed
    for name in ("Aardvark Food Bank", "Zebra Faith Circle", "East Club 000", "East Club 129"):
        assert name in words, name
    assert "Eastside Library" in words and "Testshire Libraries" in words
    assert "West Walkers" not in words and "Quillfeather" not in words
    # the method, the dates and the attribution
    assert "Community Mapper gap analysis" in words
    assert "described in http://localhost/method" in words  # the method page's address
    assert "2026-03-04" in words and "Ward boundaries of 2024" in words
    assert "Open Government Licence" in words
    # the map is drawn into the PDF, and the groups run over to further pages
    assert 2 <= len(reader.pages) <= 8
    assert reader.pages[0].images or "/XObject" in reader.pages[0]["/Resources"]


def test_the_local_authority_pack_has_every_ward(client, borough):
    response = client.get(f"/la/{LA}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader, text = pdf_text(response.get_data())
    words = flat(text)
    assert "Ward packs: Testshire" in words and "2 wards" in words
    for name in ("East Ward (E05000001)", "West Ward (E05000002)", "West Walkers", "East Club 129"):
        assert name in words, name
    assert "Open Government Licence" in words
    assert 3 <= len(reader.pages) <= 10  # a ward to a page, the east one over several


def test_the_ward_and_home_pages_link_to_the_packs(client, borough):
    ward = client.get("/wards/E05000001").get_data(as_text=True)
    assert 'href="/wards/E05000001.pdf"' in ward and f'href="/la/{LA}.pdf"' in ward
    assert f'href="/la/{LA}.pdf"' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/wards/E05999999.pdf", 404),
        ("/wards/banana.pdf", 404),
        (f"/la/{LA}9.pdf", 404),
        ("/la/E08000001.pdf", 404),
        ("/la/banana.pdf", 404),
        ("/wards/E05000001.pdf?colour=red", 400),
    ],
)
def test_a_pack_that_cannot_be_made_is_refused(client, borough, url, status):
    assert client.get(url).status_code == status
