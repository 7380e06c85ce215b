"""The notes' pages: the form (GOV.UK errors, CSRF), a note's page signed in and out, the
ward page, the partners-only downloads, the map layer, and a follower's mail arriving in a
real SMTP inbox."""

import csv
import io
import re
from datetime import date, timedelta

import pytest

from mapper.core import notes
from mapper.store.notes import WardNote
from mapper.web import mapdata
from tests.factories import four_users
from tests.forms import post_form, sign_in
from tests.mail import text_of

SECRET = "Vaccine take-up is low among the older residents of Quillfeather Row"
PUBLIC = "The community centre closes in March"


@pytest.fixture
def people(session):
    return four_users(session)


@pytest.fixture
def posted(session, people):
    secret = notes.post_note(session, people["editor"], "E05000002", {"text": SECRET})
    public = notes.post_note(
        session, people["admin"], "E05000002", {"text": PUBLIC, "visibility": "public"}
    )
    notes.reply(session, people["trusted"], public, "Quillfeather Hall could host them")
    return {"secret": secret, "public": public}


def test_the_form_names_each_field_wrong_then_posts_the_note(client, session, people):
    form = "/wards/E05000002/notes/new"
    assert client.get(form).status_code == 302  # signed out: to the sign-in page
    sign_in(client, "ed@lio.example")
    response = post_form(client, form, {"text": "", "lon": "-2.05", "review_on": "tomorrow"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page
    for field in ("text", "lat", "review_on"):
        assert f'href="#{field}"' in page and f'id="{field}-error"' in page
    assert client.post(form, data={"text": "No token"}).status_code == 400  # CSRF
    review = (date.today() + timedelta(days=30)).isoformat()
    data = {"text": "New estate", "categories": ["faith"], "review_on": review}
    response = post_form(client, form, {**data, "lon": "-2.05", "lat": "53.45"})
    assert response.status_code == 302
    [note] = session.query(WardNote).all()
    assert response.headers["Location"].endswith(f"/notes/{note.id}")
    assert (note.text, note.categories, note.visibility) == ("New estate", ["faith"], "partners")
    page = client.get(f"/notes/{note.id}").get_data(as_text=True)
    assert "Faith" in page and "53.45000, -2.05000" in page and review in page


def test_signed_out_only_public_notes_show_without_replies_or_authors(client, posted):
    ward = client.get("/wards/E05000002").get_data(as_text=True)
    assert PUBLIC in ward and SECRET not in ward
    assert client.get(f"/notes/{posted['secret'].id}").status_code == 404
    page = client.get(f"/notes/{posted['public'].id}").get_data(as_text=True)
    assert PUBLIC in page and "Quillfeather Hall" not in page and "Council" not in page
    layer = client.get("/map/notes.geojson?la=E08000099").get_json()
    assert [f["properties"]["text"] for f in layer["features"]] == [PUBLIC]
    for extension in ("csv", "geojson"):
        assert client.get(f"/notes.{extension}").status_code == 302


def test_partners_see_every_note_reply_and_download_them(client, session, posted):
    sign_in(client, "oz@other.example")
    ward = client.get("/wards/E05000001").get_data(as_text=True)  # the other ward of the LA
    assert SECRET in ward and PUBLIC in ward and "Elsewhere in Testshire" in ward
    page = client.get(f"/notes/{posted['public'].id}").get_data(as_text=True)
    assert "Quillfeather Hall could host them" in page and "Council" in page
    layer = client.get("/map/notes.geojson?la=E08000099").get_json()
    assert {f["properties"]["text"] for f in layer["features"]} == {SECRET, PUBLIC}
    # A note without a point is placed inside its ward.
    lon, lat = layer["features"][0]["geometry"]["coordinates"]
    assert -2.1 < lon < -2.0 and 53.4 < lat < 53.5
    rows = list(csv.DictReader(io.StringIO(client.get("/notes.csv?la=E08000099").text)))
    assert {r["text"] for r in rows} == {SECRET, PUBLIC}
    assert {r["organisation"] for r in rows} == {"Small LIO", "Council"}
    assert not any("@" in value for r in rows for value in r.values())
    collection = client.get("/notes.geojson?ward=E05000002").get_json()
    assert len(collection["features"]) == 2
    assert client.get("/notes.csv?la=nonsense").status_code == 400


def test_a_partner_replies_resolves_and_reopens(client, session, posted):
    sign_in(client, "oz@other.example")
    url = f"/notes/{posted['secret'].id}"
    response = post_form(client, f"{url}/replies", {"text": " "}, form_url=url)
    assert response.status_code == 422 and 'id="text-error"' in response.text
    response = post_form(client, f"{url}/replies", {"text": "We can help"}, form_url=url)
    assert response.status_code == 302
    assert "We can help" in client.get(url).text
    assert post_form(client, f"{url}/status", {"status": "resolved"}, url).status_code == 302
    assert "This note is <strong>resolved</strong>" in client.get(url).text
    assert post_form(client, f"{url}/status", {"status": "resolved"}, url).status_code == 409
    assert post_form(client, f"{url}/status", {"status": "maybe"}, url).status_code == 422
    assert post_form(client, f"{url}/status", {"status": "open"}, url).status_code == 302


def test_a_follower_is_sent_the_new_note_by_real_smtp(mail_app, client, session, people):
    app, inbox = mail_app
    app.config["BASE_URL"] = "https://mapper.example.gov.uk"
    sign_in(client, "admin@council.example")
    response = post_form(client, "/wards/E05000002/follow", {"follow": "yes"}, "/wards/E05000002")
    assert response.status_code == 302
    assert "Stop following West Ward" in client.get("/wards/E05000002").text
    client.get("/sign-out")
    other = app.test_client()
    sign_in(other, "ed@lio.example")
    form = "/wards/E05000002/notes/new"
    response = post_form(other, form, {"text": SECRET})
    assert response.status_code == 302
    response.close()  # as a server does once the answer is sent: the mail goes then
    [message] = inbox.wait_for(1)
    assert message["To"] == "admin@council.example"
    assert message["Subject"] == "New note on West Ward"
    text = text_of(message)
    assert SECRET in text and "https://mapper.example.gov.uk/notes/" in text


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"text": "A\x00B"}, "text"),
        ({"text": "x", "lon": "nan", "lat": "53.45"}, "lon"),
        ({"text": "x", "lon": "-2.05", "lat": "inf"}, "lat"),
        ({"text": "x" * 5001}, "text"),
        ({"text": "x", "review_on": "2026-02-30"}, "review_on"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_never_a_500(client, people, data, field):
    sign_in(client, "ed@lio.example")
    response = post_form(client, "/wards/E05000002/notes/new", data)
    assert response.status_code in (400, 422), response.status_code
    assert field in response.get_data(as_text=True)


def test_unknown_notes_and_wards_are_404(client, people):
    sign_in(client, "ed@lio.example")
    for url in ("/notes/2147483647", "/notes/99999999999", "/wards/E05999999/notes/new"):
        assert client.get(url).status_code == 404, url
    assert client.get("/wards/nonsense/notes/new").status_code == 404


def test_the_ward_page_pages_the_authoritys_other_notes(client, session, people):
    for i in range(mapdata.LIST_LIMIT + 2):
        notes.post_note(session, people["editor"], "E05000001", {"text": f"East note {i:02d}."})
    sign_in(client, "oz@other.example")
    page = client.get("/wards/E05000002").get_data(as_text=True)
    assert page.count("East note") == mapdata.LIST_LIMIT
    assert f"{mapdata.LIST_LIMIT + 2} notes; 1–{mapdata.LIST_LIMIT}, open ones first." in page
    assert 'href="/wards/E05000002?notes_page=2#notes-elsewhere"' in page
    second = client.get("/wards/E05000002?notes_page=2").get_data(as_text=True)
    assert second.count("East note") == 2
    shown = {n for html in (page, second) for n in re.findall(r"East note (\d\d)\.", html)}
    assert len(shown) == mapdata.LIST_LIMIT + 2  # every note on one page or the other
