"""Uploading groups from the web: preview every row's fate, fix the rejected rows, import."""

import csv
import io
import re
import threading

import openpyxl
import pytest
from sqlalchemy import func, select

from mapper.store.models import CommunityGroup
from tests.factories import four_users, make_group
from tests.forms import csrf_token, post_form, sign_in
from tests.realdata import GM_LIBRARIES

CSV_HEADER = "name,postcode,lon,lat,categories,id\n"


@pytest.fixture
def people(session):
    return four_users(session)


def upload(client, name, body, form_url="/groups/upload"):
    """Post a file to the upload form as a browser would; return the response."""
    data = {"csrf_token": csrf_token(client, form_url), "file": (io.BytesIO(body), name)}
    return client.post("/groups/upload", data=data, content_type="multipart/form-data")


def token_of(response):
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def confirm(client, token):
    url = f"/groups/upload/{token}"
    return client.post(f"{url}/import", data={"csrf_token": csrf_token(client, url)})


def count(session, **where):
    session.expire_all()
    query = select(func.count(CommunityGroup.id))
    for key, value in where.items():
        query = query.where(getattr(CommunityGroup, key) == value)
    return session.scalar(query)


def rows_csv(*rows):
    return (CSV_HEADER + "".join(",".join(row) + "\n" for row in rows)).encode()


GOOD = ("Allotment Society", "TS1 1AA", "", "", "environment-green-space", "A1")
WEST = ("Knit Club", "", "-2.05", "53.45", "arts-culture", "A2")
OUTSIDE = ("Far Away Choir", "", "0.5", "51.5", "faith", "A3")


def test_a_preview_shows_every_rows_fate_and_writes_nothing(client, session, people):
    sign_in(client, "ed@lio.example")
    token = token_of(upload(client, "groups.csv", rows_csv(GOOD, WEST, OUTSIDE)))
    page = client.get(f"/groups/upload/{token}").get_data(as_text=True)
    assert count(session) == 0
    assert re.search(r'<span class="count">2</span> new', page)
    assert re.search(r'<span class="count">1</span> rejected', page)
    assert "outside every known ward" in page and "row 4" in page
    assert "will wait for an administrator" in page  # an untrusted organisation


def test_an_untrusted_organisations_rows_become_pending(client, session, people):
    sign_in(client, "ed@lio.example")
    token = token_of(upload(client, "groups.csv", rows_csv(GOOD, WEST)))
    response = confirm(client, token)
    assert response.status_code == 302
    assert count(session, status="pending") == 2 and count(session, status="active") == 0
    assert "2 new, 0 updated, 0 unchanged, 0 rejected" in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)


def test_a_trusted_organisations_rows_are_active_and_a_second_upload_changes_nothing(
    client, session, people
):
    sign_in(client, "tess@cvs.example")
    confirm(client, token_of(upload(client, "groups.csv", rows_csv(GOOD, WEST))))
    assert count(session, status="active") == 2
    token = token_of(upload(client, "groups.csv", rows_csv(GOOD, WEST)))
    page = client.get(f"/groups/upload/{token}").get_data(as_text=True)
    assert re.search(r'<span class="count">2</span> unchanged', page)
    confirm(client, token)
    assert count(session) == 2


def test_the_rejected_rows_download_fixed_and_uploaded_again(client, session, people):
    sign_in(client, "tess@cvs.example")
    token = token_of(upload(client, "groups.csv", rows_csv(GOOD, OUTSIDE)))
    download = client.get(f"/groups/upload/{token}/rejected.csv")
    assert download.headers["Content-Disposition"] == 'attachment; filename="groups-rejected.csv"'
    [row] = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert row["problem"].startswith("row 3: outside every known ward")
    assert (row["name"], row["lon"], row["lat"]) == ("Far Away Choir", "0.5", "51.5")
    confirm(client, token)
    row.update(lon="-1.95", lat="53.45")  # fixed in a spreadsheet
    fixed = io.StringIO()
    writer = csv.DictWriter(fixed, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
    again = token_of(upload(client, "groups-rejected.csv", fixed.getvalue().encode()))
    confirm(client, again)
    assert count(session, status="active") == 2
    assert "ignored columns: problem" in client.get(f"/groups/upload/{again}").get_data(
        as_text=True
    )


def test_an_xlsx_of_real_libraries_is_read_like_the_csv(client, session, geodata, tmp_path):
    from tests.factories import load_manchester, make_user

    load_manchester(session, geodata)
    make_user(session, "tess@cvs.example", organisation="Big CVS", trusted=True)
    workbook = openpyxl.Workbook()
    with open(geodata / GM_LIBRARIES, newline="", encoding="utf-8") as source:
        for row in csv.reader(source):
            workbook.active.append(row)
    path = tmp_path / "libraries.xlsx"
    workbook.save(path)
    sign_in(client, "tess@cvs.example")
    before = count(session)
    token = token_of(upload(client, "libraries.xlsx", path.read_bytes()))
    confirm(client, token)
    assert count(session) - before == 23  # Manchester's libraries; the rest are outside


@pytest.mark.parametrize(
    ("name", "body", "config", "status", "message"),
    [
        ("groups.pdf", b"%PDF-1.4", {}, 422, "must be CSV, XLSX, GeoJSON or a zipped Shapefile"),
        ("groups.csv", b"", {}, 422, "The file cannot be read"),
        ("groups.csv", b"colour,place\nA,B\n", {}, 422, "cannot tell which column holds the name"),
        ("groups.xlsx", b"not a workbook", {}, 422, "cannot read it as a spreadsheet"),
        ("groups.geojson", b"{", {}, 422, "The file cannot be read"),
        (
            "groups.csv",
            rows_csv(GOOD, WEST),
            {"UPLOAD_MAX_ROWS": 1},
            422,
            "has 2 rows; upload at most 1",
        ),
        (
            "groups.csv",
            rows_csv(GOOD) * 40,
            {"UPLOAD_MAX_BYTES": 1024},
            413,
            "larger than 0.0009765",
        ),
    ],
)
def test_a_file_that_cannot_be_uploaded_is_refused_with_the_reason(
    app, client, session, people, name, body, config, status, message
):
    app.config.update(config)
    sign_in(client, "tess@cvs.example")
    response = upload(client, name, body)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert message in page and '<a href="#file">' in page  # the summary links to the field
    assert count(session) == 0


def test_no_file_is_refused_naming_the_field(client, people):
    sign_in(client, "tess@cvs.example")
    data = {"csrf_token": csrf_token(client, "/groups/upload")}
    response = client.post("/groups/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose a file to upload" in response.get_data(as_text=True)


def test_an_upload_is_only_its_owners(client, people):
    sign_in(client, "tess@cvs.example")
    token = token_of(upload(client, "groups.csv", rows_csv(GOOD)))
    sign_in(client, "oz@other.example")
    for url in (
        f"/groups/upload/{token}",
        f"/groups/upload/{token}/rejected.csv",
        "/groups/upload/x",
    ):
        assert client.get(url).status_code == 404


def test_an_editor_cannot_change_another_organisations_group_or_its_own_active_one(
    client, session, people
):
    other = make_group(
        session,
        "Allotment Society",
        (-1.95, 53.45),
        organisation_id=people["other"].organisation_id,
    )
    own = make_group(
        session, "Knit Club", (-2.05, 53.45), organisation_id=people["editor"].organisation_id
    )
    sign_in(client, "ed@lio.example")
    renamed = ("Allotment Society", "TS1 1AA", "", "", "faith", "")
    changed = ("Knit Club", "", "-2.05", "53.45", "faith", "")
    token = token_of(upload(client, "groups.csv", rows_csv(renamed, changed)))
    page = client.get(f"/groups/upload/{token}").get_data(as_text=True)
    assert "a group of another organisation" in page
    assert "which is on the map: edit it on its page" in page
    assert re.search(r'<span class="count">2</span> rejected', page)
    confirm(client, token)
    session.expire_all()
    assert [c.slug for c in other.categories] == [] and [c.slug for c in own.categories] == []


def test_columns_can_be_chosen_by_hand(client, session, people):
    sign_in(client, "tess@cvs.example")
    body = b"group,where,about\nKnit Club,TS1 1AA,Knitting\n"
    response = upload(client, "groups.csv", body)
    assert response.status_code == 422  # no column is called "name"
    body = b"name,where,about\nKnit Club,TS1 1AA,Knitting\n"
    token = token_of(upload(client, "groups.csv", body))
    url = f"/groups/upload/{token}"
    assert "no location" in client.get(url).get_data(as_text=True)
    fields = {f"field-{t}": "" for t in ("categories", "kind")}  # "not in the file"
    client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "field-name": "name",
            "field-postcode": "where",
            "field-description": "about",
            **fields,
        },
    )
    page = client.get(url).get_data(as_text=True)
    assert re.search(r'<span class="count">1</span> new', page)
    assert '<option value="where" selected>' in page
    confirm(client, token)
    session.expire_all()
    group = session.scalar(select(CommunityGroup))
    assert (group.name, group.description, group.postcode) == ("Knit Club", "Knitting", "TS1 1AA")


def test_an_upload_is_imported_once(client, session, people):
    sign_in(client, "tess@cvs.example")
    token = token_of(upload(client, "groups.csv", rows_csv(GOOD)))
    confirm(client, token)
    confirm(client, token)
    assert count(session) == 1


def test_two_editors_uploading_at_once_both_succeed(app, session, people):
    from tests.factories import make_user

    make_user(session, "tom@cvs.example", organisation="Big CVS", trusted=True)
    rows = [(f"Group {i}", "", f"{-2.09 + i / 1000:.4f}", "53.45", "faith", "") for i in range(60)]
    clients, tokens = [], []
    for email in ("tess@cvs.example", "tom@cvs.example"):
        client = app.test_client()
        sign_in(client, email)
        tokens.append(token_of(upload(client, "same.csv", rows_csv(*rows))))
        clients.append(client)
    answers, barrier = [], threading.Barrier(2)

    def run(client, token):
        url = f"/groups/upload/{token}"
        data = {"csrf_token": csrf_token(client, url)}
        barrier.wait()
        answers.append(client.post(f"{url}/import", data=data).status_code)

    threads = [
        threading.Thread(target=run, args=pair) for pair in zip(clients, tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [302, 302]
    assert count(session) == 60  # the second matched the first's groups: no duplicates


def test_the_template_lists_the_columns(client):
    response = client.get("/groups/upload/template.csv")
    header = response.get_data(as_text=True).splitlines()[0].split(",")
    assert {"name", "categories", "postcode", "lon", "lat", "id"} <= set(header)


def test_a_file_larger_than_other_requests_may_be_is_accepted_up_to_the_upload_limit(
    app, client, session, people
):
    # Other forms may be 100 KB here (1 MiB in earnest); kept small so that the test client
    # holds the body in memory.
    app.config.update(MAX_CONTENT_LENGTH=100_000)
    body = b"name,postcode,categories,notes\nAllotment Society,TS1 1AA,faith," + b"x" * 200_000
    sign_in(client, "tess@cvs.example")
    token = token_of(upload(client, "big.csv", body + b"\n"))
    confirm(client, token)
    assert count(session) == 1
    response = post_form(client, "/sign-in", {"email": "x" * 200_000, "password": "p"})
    assert response.status_code == 413  # other forms keep their limit
