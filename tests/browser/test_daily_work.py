"""LIO and admin daily work in a real headless Chromium: upload a spreadsheet, bulk approve,
edit a postcode, and a refused form that puts the focus on its error summary."""

import csv
import json
import urllib.request

import openpyxl
import pytest
from sqlalchemy import func, select

from mapper.core import groups
from mapper.store.models import CommunityGroup, Postcode
from tests.browser.test_pages import serious_accessibility_violations
from tests.browser.test_registration import sign_in
from tests.factories import four_users, load_manchester, make_user
from tests.realdata import GM_LIBRARIES

pytestmark = pytest.mark.browser

BROKEN = "Chorlton Library"  # a Manchester library whose place the test spoils, then fixes


def assert_clean(watch):
    assert watch.outside_requests() == []
    assert watch.errors == []
    assert watch.dialogs == []


def assert_accessible(watch):
    assert serious_accessibility_violations(watch.page) == []


def libraries_workbook(geodata, path):
    """The real GM libraries as an XLSX, with one Manchester library given a made-up postcode
    and no coordinates; returns that library's real row."""
    with open(geodata / GM_LIBRARIES, newline="", encoding="utf-8") as source:
        rows = list(csv.DictReader(source))
    [broken] = [row for row in rows if row["name"] == BROKEN]
    real = dict(broken)
    broken.update(postcode="ZZ9 9ZZ", lon="", lat="")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    workbook.save(path)
    return real, len(rows)


def manchester_libraries(geodata):
    with open(geodata / GM_LIBRARIES, newline="", encoding="utf-8") as source:
        return {row["name"] for row in csv.DictReader(source) if row["area_code"] == "E08000003"}


def test_an_editor_uploads_a_spreadsheet_fixes_a_rejected_row_and_sees_the_groups_mapped(
    live_server, page, session, backend, geodata, tmp_path
):
    load_manchester(session, geodata)
    make_user(session, "tess@cvs.example", organisation="Big CVS", trusted=True)
    real, total = libraries_workbook(geodata, tmp_path / "gm-libraries.xlsx")
    stored = session.scalar(select(func.count(CommunityGroup.id)))  # the polling stations
    p = page.page
    sign_in(p, live_server, "tess@cvs.example")

    p.get_by_role("link", name="Upload groups").click()
    p.get_by_role("heading", name="Upload groups from a file").wait_for()
    assert_accessible(page)
    p.get_by_label("File").set_input_files(str(tmp_path / "gm-libraries.xlsx"))
    p.get_by_role("button", name="Upload and preview").click()
    p.get_by_role("heading", name="Preview of gm-libraries.xlsx").wait_for()
    counts = dict(
        zip(
            p.locator(".fate-counts li").evaluate_all("els => els.map(e => e.className)"),
            [int(t.replace(",", "")) for t in p.locator(".fate-counts .count").all_inner_texts()],
            strict=True,
        )
    )
    # Manchester's 23 libraries but the spoilt one are new; the other districts are outside.
    assert counts == {
        "fate-new": 22,
        "fate-update": 0,
        "fate-unchanged": 0,
        "fate-rejected": total - 22,
    }
    assert p.get_by_role("cell", name=f"unknown postcode 'ZZ9 9ZZ' ({BROKEN})").count() == 1
    assert p.locator("#field-name").input_value() == "name"  # the importer's own choice
    assert p.locator("#field-postcode").input_value() == "postcode"
    page.screenshot(f"upload-preview-{backend}")
    assert_accessible(page)
    session.expire_all()
    # A preview writes nothing.
    assert session.scalar(select(func.count(CommunityGroup.id))) == stored

    with p.expect_download() as download:
        p.get_by_role("link", name="Download the rejected rows (CSV)").click()
    with open(download.value.path(), encoding="utf-8") as saved:
        rejected = list(csv.DictReader(saved))
    [row] = [r for r in rejected if r["name"] == BROKEN]
    assert row["problem"].startswith("row ") and "unknown postcode" in row["problem"]

    p.get_by_role("button", name="Import 22 rows").click()
    p.get_by_role("heading", name="Imported gm-libraries.xlsx").wait_for()
    p.get_by_text("22 new, 0 updated, 0 unchanged").wait_for()

    row.update(postcode=real["postcode"], lon=real["lon"], lat=real["lat"])  # fixed
    with open(tmp_path / "fixed.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    p.get_by_role("link", name="upload another file").click()
    p.get_by_label("File").set_input_files(str(tmp_path / "fixed.csv"))
    p.get_by_role("button", name="Upload and preview").click()
    p.get_by_role("heading", name="Preview of fixed.csv").wait_for()
    assert p.locator(".fate-new .count").inner_text() == "1"
    p.get_by_role("button", name="Import 1 row").click()
    p.get_by_text("1 new, 0 updated, 0 unchanged, 0 rejected").wait_for()

    # Signed out, all 23 libraries are on the map's data, and the fixed one on its own page.
    p.get_by_role("button", name="Sign out").click()
    with urllib.request.urlopen(live_server + "/map/groups.json") as response:
        names = {row[3] for row in json.load(response)["rows"]}
    assert manchester_libraries(geodata) <= names
    session.expire_all()
    fixed = session.scalar(select(CommunityGroup).where(CommunityGroup.name == BROKEN))
    assert (fixed.status, fixed.ward.name, fixed.postcode) == (
        "active",
        "Chorlton",
        real["postcode"],
    )
    p.goto(f"{live_server}/groups/{fixed.id}")
    p.wait_for_selector(".folium-map[data-loaded=true]")
    assert p.get_by_role("heading", name=BROKEN, level=1).count() == 1
    assert_clean(page)


def test_an_admin_approves_ten_pending_groups_at_once(live_server, page, session, backend):
    people = four_users(session)
    for i in range(10):
        data = {"name": f"Pending Group {i}", "categories": ["faith"]}
        groups.register_group(
            session, people["editor"], {**data, "lon": -2.09 + i / 100, "lat": 53.45}
        )
    groups.register_group(
        session,
        people["editor"],
        {"name": "Left Waiting", "categories": ["faith"], "postcode": "TS1 1AA"},
    )
    p = page.page
    sign_in(p, live_server, "admin@council.example")
    p.get_by_role("link", name="Moderation").click()
    p.wait_for_selector(".small-map[data-loaded=true]")
    assert p.locator(".small-map").count() == 11  # every item shows where the group is
    assert_accessible(page)
    for i in range(10):
        p.get_by_role("checkbox", name=f"Choose Pending Group {i}").check()
    p.get_by_role("button", name="Approve the chosen groups…").click()
    p.get_by_role("heading", name="Approve 10 groups?").wait_for()
    assert_accessible(page)
    p.get_by_role("button", name="Approve 10 groups").click()
    p.get_by_text("10 groups approved.").wait_for()
    assert p.get_by_role("heading", name="New groups (1)").count() == 1
    session.expire_all()
    statuses = dict(session.execute(select(CommunityGroup.name, CommunityGroup.status)).all())
    assert statuses.pop("Left Waiting") == "pending"
    assert set(statuses.values()) == {"active"} and len(statuses) == 10
    assert_clean(page)


def test_a_new_postcode_moves_the_group_on_the_edit_page_before_it_is_saved(
    live_server, page, session, backend
):
    people = four_users(session)
    session.add(Postcode(postcode="TS2 2BB", lon=-2.05, lat=53.45))
    session.commit()
    group, _ = groups.register_group(
        session,
        people["trusted"],
        {"name": "Choir", "categories": ["faith"], "postcode": "TS1 1AA"},
    )
    p = page.page
    sign_in(p, live_server, "tess@cvs.example")
    p.goto(f"{live_server}/groups/{group.id}/edit")
    p.wait_for_selector(".folium-map[data-loaded=true]")
    assert p.locator("#place-now").inner_text() == "Ward: East Ward"
    assert p.get_by_label("Longitude").input_value() == "-1.950000"
    assert_accessible(page)
    p.get_by_label("Postcode").fill("ts2 2bb")
    p.get_by_label("Postcode").press("Tab")
    p.get_by_text("Ward: West Ward").wait_for()  # before saving, the page says where it goes
    assert p.get_by_label("Longitude").input_value() == "-2.050000"  # and the marker moved
    page.screenshot(f"edit-postcode-{backend}")
    p.get_by_role("button", name="Save changes").click()
    p.get_by_text("Choir is saved.").wait_for()
    session.expire_all()
    assert (group.postcode, group.ward.code) == ("TS2 2BB", "E05000002")
    assert_clean(page)


def test_a_refused_form_puts_the_focus_on_the_error_summary(live_server, page, session):
    four_users(session)
    p = page.page
    sign_in(p, live_server, "ed@lio.example")
    p.goto(live_server + "/groups/new")
    p.get_by_label("Postcode").fill("XX1 1XX")
    p.get_by_role("button", name="Register the group").click()
    summary = p.locator(".error-summary")
    summary.wait_for()
    # static/js/forms.js moves the focus once the page has loaded: wait for it, or fail
    p.wait_for_function("() => document.activeElement.className === 'error-summary'")
    assert summary.locator("a").all_inner_texts() == [
        "Enter the name of the group",
        "Choose at least one activity",
        "We cannot find that postcode: check it, or choose the place on the map",
    ]
    summary.get_by_role("link", name="Enter the name of the group").click()
    assert p.evaluate("document.activeElement.id") == "name"
    assert_accessible(page)
    assert [e for e in page.errors if "status of 422" not in e] == []


def test_an_editor_sees_pending_work_in_their_list_and_previews_it(live_server, page, session):
    people = four_users(session)
    group, _ = groups.register_group(
        session,
        people["editor"],
        {"name": "Waiting Club", "categories": ["faith"], "postcode": "TS1 1AA"},
    )
    p = page.page
    sign_in(p, live_server, "ed@lio.example")
    p.get_by_role("link", name="Your groups").click()
    p.get_by_text("New group awaiting approval").wait_for()
    assert_accessible(page)
    p.get_by_role("link", name="Preview Waiting Club").click()
    p.wait_for_selector(".small-map[data-loaded=true]")
    assert p.get_by_role("heading", name="Waiting Club", level=1).count() == 1
    assert_accessible(page)
    p.get_by_label("Name, postcode or ward").wait_for(state="detached")  # left the list
    p.go_back()
    p.get_by_label("Name, postcode or ward").fill("nothing like it")
    p.get_by_role("button", name="Show groups").click()
    p.get_by_text("0 groups match").wait_for()
    assert_clean(page)
