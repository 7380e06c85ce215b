"""What changed: the page and its Atom and JSON feeds, filters, bad input, caching, privacy."""

import json
from datetime import UTC, date, datetime, timedelta

import feedparser
import pytest
from sqlalchemy import select

from mapper.core import groups
from mapper.io import feeds
from mapper.store.models import AuditEvent
from tests.factories import four_users

WEST = (-2.05, 53.45)  # inside West Ward, E05000002
EAST = (-1.95, 53.45)  # inside East Ward, E05000001
HIDDEN_TRUE = (-1.9321, 53.4123)  # where the hidden group really is (East Ward)


def register(session, user, name, lonlat, **values):
    data = {"name": name, "categories": ["food-support"], "lon": lonlat[0], "lat": lonlat[1]}
    group, _ = groups.register_group(session, user, {**data, **values})
    return group


@pytest.fixture
def movement(session):
    """A month of a register: groups added, changed, closed; a pending one, a rejected one, a
    hidden one moved, and an old change dated 2020."""
    people = four_users(session)
    trusted, admin = people["trusted"], people["admin"]
    allotments = register(session, trusted, "Allotment Society", WEST)
    food = register(session, trusted, "Food Share", EAST, contact="food@share.example")
    groups.update_group(
        session, trusted, food, {"website": "https://food.example", "name": "Food Share East"}
    )
    refuge = register(session, trusted, "Quiet Refuge", HIDDEN_TRUE, location_precision="hidden")
    groups.update_group(session, trusted, refuge, {"lon": -1.9311, "lat": 53.4133})
    register(session, people["editor"], "Pending Club", WEST)
    rejected = register(session, people["editor"], "Rejected Club", EAST)
    groups.reject_group(session, admin, rejected, "Call Jane Smith on 01632 960001")
    groups.close_group(session, trusted, allotments, "Lost the site, ask Tess")
    old = register(session, trusted, "Old Timers", WEST)
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.entity_id == old.id, AuditEvent.action == "create")
    ).one()
    event.at = datetime(2020, 3, 1, 10, 0, tzinfo=UTC)
    session.commit()
    return {"people": people, "allotments": allotments, "food": food, "refuge": refuge}


def json_feed(client, query=""):
    response = client.get(f"/whats-changed.json{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == feeds.JSON_FEED_MIMETYPE
    return json.loads(response.get_data())


def titles(client, query=""):
    return [item["title"] for item in json_feed(client, query)["items"]]


def test_the_feeds_list_groups_added_closed_and_changed_newest_first(client, movement):
    assert titles(client) == [
        "Closed: Allotment Society",
        "Added: Quiet Refuge",
        "Changed: Food Share East",
        "Added: Food Share East",
        "Added: Allotment Society",
    ]
    items = {item["title"]: item for item in json_feed(client)["items"]}
    changed = items["Changed: Food Share East"]
    assert changed["content_text"] == (
        "Food Share East changed its name and website. Ward: East Ward."
    )
    food = movement["food"]
    assert changed["url"] == f"http://localhost/groups/{food.id}"
    # A closed group has no public page: its entry links to its ward's.
    assert items["Closed: Allotment Society"]["url"] == "http://localhost/wards/E05000002"


def test_the_atom_feed_is_valid_with_stable_ids(client, movement):
    first, second = (client.get("/whats-changed.atom?ward=E05000001") for _ in range(2))
    assert first.status_code == 200 and first.mimetype == "application/atom+xml"
    parsed = feedparser.parse(first.get_data())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    feed = parsed.feed
    assert (
        feed.id
        == "http://localhost/whats-changed.atom?since="
        + (date.today() - timedelta(days=28)).isoformat()
        + "&ward=E05000001"
    )
    assert feed.title == "What changed: community groups in East Ward (Testshire)"
    assert feed.updated_parsed is not None
    assert [link.rel for link in feed.links] == ["self", "alternate"]
    assert [e.title for e in parsed.entries] == [
        "Added: Quiet Refuge",
        "Changed: Food Share East",
        "Added: Food Share East",
    ]
    for entry in parsed.entries:
        assert entry.id and entry.updated_parsed and entry.link and entry.summary
    assert [e.id for e in parsed.entries] == [
        e.id for e in feedparser.parse(second.get_data()).entries
    ]
    assert len({e.id for e in parsed.entries}) == 3
    # The feed's updated is its newest entry's.
    assert feed.updated_parsed == parsed.entries[0].updated_parsed


def test_the_json_feed_has_every_field_json_feed_1_1_requires(client, movement):
    data = json_feed(client, "?la=E08000099")
    assert data["version"] == "https://jsonfeed.org/version/1.1"
    assert data["title"] == "What changed: community groups in Testshire"
    assert data["feed_url"].startswith("http://localhost/whats-changed.json?")
    assert data["home_page_url"].startswith("http://localhost/whats-changed?")
    for item in data["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert item["content_text"]
        datetime.fromisoformat(item["date_published"])  # RFC 3339
    assert len(data["items"]) == 5


def test_filters_by_ward_local_authority_and_since(client, movement):
    assert titles(client, "?ward=E05000002") == [
        "Closed: Allotment Society",
        "Added: Allotment Society",
    ]
    assert titles(client, "?la=E08000099") == titles(client)
    assert "Added: Old Timers" not in titles(client, "?since=2021-01-01")
    old = titles(client, "?since=2020-03-01&ward=E05000002")
    assert old[-1] == "Added: Old Timers" and len(old) == 3
    assert titles(client, "?since=2020-03-02&ward=E05000002")[-1] != "Added: Old Timers"


def test_the_page_lists_the_changes_and_links_its_feeds(client, movement):
    response = client.get("/whats-changed?ward=E05000001&since=2020-01-01")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "What changed in East Ward (Testshire)" in html
    assert "3 changes since 1 January 2020" in html
    assert 'rel="alternate" type="application/atom+xml"' in html
    assert "/whats-changed.atom?since=2020-01-01&amp;ward=E05000001" in html
    assert f'href="http://localhost/groups/{movement["food"].id}"' in html
    assert "Allotment Society" not in html  # West Ward's


def test_the_ward_and_home_pages_link_the_page_and_feeds(client, movement):
    ward = client.get("/wards/E05000001").get_data(as_text=True)
    assert '<link rel="alternate" type="application/atom+xml"' in ward
    assert 'href="/whats-changed.atom?ward=E05000001"' in ward
    assert 'href="/whats-changed?ward=E05000001"' in ward
    home = client.get("/?la=E08000099").get_data(as_text=True)
    assert 'href="/whats-changed.json?la=E08000099"' in home
    assert 'href="/whats-changed?la=E08000099"' in home


def test_pending_rejected_and_hidden_details_and_people_never_appear(client, movement):
    answers = [
        client.get(f"/whats-changed{ext}?since=2020-01-01").get_data(as_text=True)
        for ext in ("", ".atom", ".json")
    ]
    for text in answers:
        assert "Pending Club" not in text and "Rejected Club" not in text
        for secret in ("@cvs.example", "@council.example", "@lio.example", "Jane", "Tess"):
            assert secret not in text
        # The hidden group was added (by its ward) but its move is not told, nor where it is.
        assert "Quiet Refuge was added to the map." in text
        assert "Quiet Refuge changed" not in text
        for lonlat in (HIDDEN_TRUE, (-1.9311, 53.4133)):
            assert f"{lonlat[0]:.4f}" not in text and f"{lonlat[1]:.4f}" not in text


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("since=2026-13-01", "since"),
        ("since=yesterday", "since"),
        ("since=9999-01-01", "since"),
        ("since=2020-01-01&since=2021-01-01", "since"),
        ("ward=nonsense", "ward"),
        ("la=E08999999", "la"),
        ("colour=red", "colour"),
    ],
)
@pytest.mark.parametrize("ext", ["", ".atom", ".json"])
def test_bad_input_is_a_400_naming_the_parameter(client, movement, query, name, ext):
    response = client.get(f"/whats-changed{ext}?{query}", headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert name in response.get_json()["error"]["fields"]


def test_answers_are_cached_like_other_public_reads(client, movement):
    feed = client.get("/whats-changed.atom")
    assert feed.headers["Cache-Control"] == "public, max-age=60"
    assert feed.headers["ETag"]
    again = client.get("/whats-changed.atom", headers={"If-None-Match": feed.headers["ETag"]})
    assert again.status_code == 304
    page = client.get("/whats-changed")
    assert page.headers["Cache-Control"] == "public, no-cache" and page.headers["ETag"]
