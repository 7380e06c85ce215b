"""Find a place: the search page, its JSON, and the ward labels the maps write."""

import pytest
from shapely.geometry import MultiPolygon, box

from mapper.store import db
from mapper.store.models import Coordinator, Postcode
from tests.factories import make_group, make_user, make_wards, two_wards


def borough(session):
    """Two wards of Testshire, a postcode in the east one, and a group in each."""
    two_wards(session)
    make_wards(
        session,
        {"E05000009": ("Westbury Green", box(-2.3, 53.4, -2.2, 53.5))},
        la_code="E08000098",
        la_name="Otherton",
    )
    session.add(Postcode(postcode="TS1 1AA", lon=-1.95, lat=53.45))
    session.commit()
    return {
        "walkers": make_group(session, "East Walkers", (-1.95, 53.45)),
        "choir": make_group(session, "West Choir", (-2.05, 53.45)),
    }


def search(client, text):
    return client.get("/map/search.json", query_string={"q": text})


def test_a_postcode_answers_with_its_ward_in_any_spelling(client, session):
    borough(session)
    for text in ("TS1 1AA", "ts11aa", "  ts1   1aa "):
        data = search(client, text).get_json()
        answer = data["answer"]
        assert (answer["kind"], answer["name"]) == ("postcode", "TS1 1AA")
        assert (answer["ward_code"], answer["ward_name"]) == ("E05000001", "East Ward")
        assert answer["lonlat"] == [-1.95, 53.45]
        assert answer["lonlat_box"] == pytest.approx([-2.0, 53.4, -1.9, 53.5])
        assert data["message"] == "The postcode TS1 1AA is in East Ward ward, Testshire."


def test_an_unknown_postcode_says_so(client, session):
    borough(session)
    response = search(client, "TS9 9ZZ")
    assert response.status_code == 200
    data = response.get_json()
    assert data["answer"] is None and data["places"] == []
    assert data["message"] == "The postcode TS9 9ZZ is not one we know."
    page = client.get("/search?q=TS9+9ZZ")
    assert page.status_code == 200
    assert "The postcode TS9 9ZZ is not one we know." in page.get_data(as_text=True)


def test_ward_names_match_in_part_exact_names_first(client, session):
    borough(session)
    data = search(client, "ward").get_json()
    wards = [p["ward_code"] for p in data["places"] if p["kind"] == "ward"]
    assert wards == ["E05000001", "E05000002"]  # by name: East Ward, West Ward
    assert search(client, "west ward").get_json()["answer"]["ward_code"] == "E05000002"
    first = search(client, "West").get_json()["places"]
    assert [(p["kind"], p["name"]) for p in first] == [
        ("ward", "West Ward"),
        ("ward", "Westbury Green"),
        ("group", "West Choir"),
    ]


def test_a_local_authority_name_answers_with_the_authority(client, session):
    borough(session)
    data = search(client, "testshire").get_json()
    assert data["answer"] == {
        "kind": "la",
        "name": "Testshire",
        "ward_code": None,
        "ward_name": None,
        "la_code": "E08000099",
        "la_name": "Testshire",
        "group_id": None,
        "lonlat": None,
        "lonlat_box": None,
    }


def test_a_group_name_answers_with_its_ward(client, session):
    groups = borough(session)
    answer = search(client, "walkers").get_json()["answer"]
    assert answer["kind"] == "group" and answer["group_id"] == groups["walkers"].id
    assert answer["ward_code"] == "E05000001"
    page = client.get("/search?q=walkers").get_data(as_text=True)
    assert f'href="/groups/{groups["walkers"].id}"' in page
    assert 'href="/wards/E05000001"' in page


def test_no_personal_data_or_unapproved_group_is_searchable(client, session):
    borough(session)
    make_group(session, "Secret Pending Club", (-1.95, 53.45), status="pending")
    make_group(session, "Closed Knitters", (-1.95, 53.45), status="closed")
    make_user(session, "alice.editor@council.example")
    session.add(
        Coordinator(
            name="Bob Coordinator",
            email="bob@council.example",
            phone="01632 960001",
            patch=db.to_wkb_element(MultiPolygon([box(-2.1, 53.4, -2.0, 53.45)])),
        )
    )
    session.commit()
    for text in ("Secret Pending", "Knitters", "alice", "council.example", "Bob", "01632"):
        data = search(client, text).get_json()
        assert data["places"] == [], text
        body = client.get("/search", query_string={"q": text}).get_data(as_text=True)
        assert "/groups/" not in body.split("<main", 1)[1], text


def test_wildcards_are_matched_as_text(client, session):
    borough(session)
    assert search(client, "%").get_json()["places"] == []
    assert search(client, "_").get_json()["places"] == []


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("x" * 101, "is longer than 100 characters"),
    ],
    ids=["empty", "spaces", "too-long"],
)
def test_bad_searches_are_422_naming_q(client, session, query, reason):
    two_wards(session)
    response = search(client, query)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"q": reason}
    page = client.get("/search", query_string={"q": query})
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert reason in text and 'id="place-q"' in text


def test_a_search_without_q_and_repeated_or_unknown_parameters(client, session):
    two_wards(session)
    assert client.get("/search").status_code == 422
    assert client.get("/map/search.json").status_code == 422
    repeated = client.get("/map/search.json?q=a&q=b")
    assert repeated.status_code == 400
    assert "q" in repeated.get_json()["error"]["fields"]
    unknown = client.get("/search?q=a&nope=1")
    assert unknown.status_code == 400
    assert client.get("/map/search.json?q=%00").status_code == 400


def test_the_results_page_escapes_what_was_typed(client, session):
    two_wards(session)
    text = client.get("/search", query_string={"q": "<script>x</script>"}).get_data(as_text=True)
    assert "<script>x</script>" not in text
    assert "&lt;script&gt;x&lt;/script&gt;" in text


def test_ward_labels_are_label_points_of_current_wards_in_scope(client, session):
    borough(session)
    data = client.get("/map/ward-labels.json?la=E08000099").get_json()
    assert data["fields"] == ["ward_code", "ward_name", "lon", "lat", "area_km2"]
    by_code = {row[0]: row for row in data["rows"]}
    assert set(by_code) == {"E05000001", "E05000002"}
    code, name, lon, lat, _area = by_code["E05000001"]
    assert name == "East Ward" and -2.0 <= lon <= -1.9 and 53.4 <= lat <= 53.5
    boxed = client.get("/map/ward-labels.json?bbox=-2.35,53.3,-2.15,53.6").get_json()
    assert [row[0] for row in boxed["rows"]] == ["E05000009"]
    assert client.get("/map/ward-labels.json?bbox=1,2").status_code == 400
    assert client.get("/map/ward-labels.json?la=nope").status_code == 400


def test_the_home_and_ward_pages_carry_the_search_form(client, session):
    two_wards(session)
    for url in ("/", "/wards/E05000001"):
        text = client.get(url).get_data(as_text=True)
        assert 'role="search"' in text and 'action="/search"' in text, url
        assert 'id="place-status"' in text and 'aria-live="polite"' in text, url
