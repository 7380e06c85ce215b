"""The map pages and the data endpoints their maps fetch."""

import pytest
from shapely.geometry import MultiPolygon, box

from mapper.store import db
from mapper.store.models import CommunityGroup, Coordinator, Service
from tests.factories import make_group, make_service, make_wards, two_wards

XSS = "<img src=x onerror=alert(1)>"
PAGE_LIMIT = 100_000  # bytes of HTML a map page may have, however much data there is


def test_map_wards_are_display_geojson_with_identity_only(client, session):
    two_wards(session)
    response = client.get("/map/wards.geojson?la=E08000099")
    assert response.status_code == 200
    assert response.content_type == "application/geo+json"
    data = response.get_json(force=True)
    assert [f["properties"]["ward_code"] for f in data["features"]] == ["E05000001", "E05000002"]
    assert set(data["features"][0]["properties"]) == {
        "ward_code",
        "ward_name",
        "la_code",
        "la_name",
    }


def test_map_groups_are_compact_rows_and_details_come_from_the_api(client, session):
    two_wards(session)
    group = make_group(session, "Walkers", (-2.05, 53.45), kind="charity")
    make_group(session, "Hidden", (-2.05, 53.45), status="pending")
    data = client.get("/map/groups.json?la=E08000099&kind=charity").get_json()
    assert data == {
        "fields": ["id", "lon", "lat", "name"],
        "rows": [[group.id, -2.05, 53.45, "Walkers"]],
    }
    assert client.get(f"/api/v1/groups/{group.id}").status_code == 200


def test_map_services_and_their_details_are_public_fields_of_active_services(client, session):
    two_wards(session)
    service = make_service(session, "Library", (-2.05, 53.45), contact_public="01632 960000")
    closed = make_service(session, "Old library", (-2.05, 53.46), status="closed")
    assert client.get("/map/services.json").get_json()["rows"] == [
        [service.id, -2.05, 53.45, "Library"]
    ]
    details = client.get(f"/map/services/{service.id}.json").get_json()
    assert details["name"] == "Library" and details["ward_code"] == "E05000002"
    assert client.get(f"/map/services/{closed.id}.json").status_code == 404


def test_map_coverage_carries_no_names_or_contacts(client, session):
    two_wards(session)
    session.add(
        Coordinator(
            name="Alice Example",
            email="alice@council.example",
            phone="01632 960001",
            patch=db.to_wkb_element(MultiPolygon([box(-2.1, 53.4, -2.0, 53.45)])),
        )
    )
    session.commit()
    response = client.get("/map/coverage.geojson?la=E08000099")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert len(response.get_json(force=True)["features"]) == 1
    for secret in ("Alice", "alice@", "01632"):
        assert secret not in body


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/map/wards.geojson?la=Trafford", "la"),
        ("/map/wards.geojson?bbox=1,2", "bbox"),
        ("/map/groups.json?ward=nope", "ward"),
        ("/map/groups.json?category=%3Cscript%3E", "category"),
        ("/map/services.json?bbox=a,b,c,d", "bbox"),
        ("/map/coverage.geojson?la=x", "la"),
        ("/?la=Trafford", "la"),
    ],
)
def test_bad_map_parameters_get_a_400_naming_the_parameter(client, url, field):
    response = client.get(url, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]


def test_group_page_shows_public_fields_escaped(client, session):
    two_wards(session)
    group = make_group(
        session,
        XSS,
        (-2.05, 53.45),
        categories=["food-support"],
        description="<script>alert(2)</script>",
        website="javascript:alert(3)",
        contact_public="hello@group.example",
        kind="mutual aid",
    )
    response = client.get(f"/groups/{group.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and XSS not in html
    assert "<script>alert(2)" not in html
    assert 'href="javascript:' not in html and "javascript:alert(3)" in html
    assert "Food support" in html or "food" in html.lower()
    assert html.count("<h1") == 1
    assert "/wards/E05000002" in html


def test_group_page_links_a_web_address_only_when_it_is_one(client, session):
    two_wards(session)
    group = make_group(session, "Walkers", (-2.05, 53.45), website="https://walkers.example")
    assert 'href="https://walkers.example"' in client.get(f"/groups/{group.id}").get_data(
        as_text=True
    )


@pytest.mark.parametrize("status", ["pending", "inactive", "closed"])
def test_group_page_is_404_unless_the_group_is_active(client, session, status):
    two_wards(session)
    group = make_group(session, "Not public", (-2.05, 53.45), status=status)
    response = client.get(f"/groups/{group.id}")
    assert response.status_code == 404
    assert "Not public" not in response.get_data(as_text=True)
    assert client.get("/groups/999999").status_code == 404


def test_ward_page_lists_groups_services_and_groups_just_over_the_boundary(client, session):
    two_wards(session)
    make_group(session, XSS, (-2.05, 53.45))
    make_group(session, "Pending group", (-2.05, 53.45), status="pending")
    make_group(session, "Over the road", (-1.999, 53.45))
    make_group(session, "Far away", (-1.95, 53.45))
    make_service(session, "Library", (-2.05, 53.44))
    response = client.get("/wards/e05000002")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count("<h1") == 1 and "West Ward" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and XSS not in html
    assert "Pending group" not in html
    assert "Over the road" in html and "East Ward" in html and "Far away" not in html
    assert "Library" in html
    assert "/gaps.geojson?ward=E05000002" in html and "/gaps.csv?ward=E05000002" in html


def test_unknown_ward_page_is_404(client, session):
    two_wards(session)
    assert client.get("/wards/E05999999").status_code == 404
    assert client.get("/wards/not-a-code").status_code == 404


def test_home_page_offers_the_filters_and_download_links_with_the_chosen_filters(client, session):
    two_wards(session)
    make_group(session, "A", (-2.05, 53.45), kind="mutual aid")
    make_group(session, "B", (-2.05, 53.45), kind="church/chapel")  # `kind` cannot carry it
    html = client.get("/?la=E08000099&category=food-support").get_data(as_text=True)
    assert "church/chapel" not in html
    assert '<option value="E08000099" selected>Testshire</option>' in html
    assert '<option value="mutual aid">mutual aid</option>' in html
    assert "/gaps.geojson?la=E08000099&amp;category=food-support" in html
    assert "/gaps.csv?la=E08000099&amp;category=food-support" in html
    assert html.count("<h1") == 1


def add_lots_of_data(session, wards=300, groups=5000, name_length=300):
    """Many wards, and many groups and services with the longest names, all in one ward."""
    make_wards(
        session,
        {
            f"E05{i:06d}": (
                f"Ward {i} " + "w" * 150,
                box(
                    -2 + (i % 20) * 0.01,
                    53 + (i // 20) * 0.01,
                    -2 + (i % 20 + 1) * 0.01,
                    53 + (i // 20 + 1) * 0.01,
                ),
            )
            for i in range(wards)
        },
    )
    long = "x" * (name_length - 10)
    session.add_all(
        [
            CommunityGroup(
                name=f"{i:05d} {long}",
                kind=f"kind {i} " + "k" * 40,
                status="active",
                geom=db.to_wkb_element(box(-2, 53, -1.99, 53.01).centroid),
                description="d" * 200_000 if i == 0 else None,
                meeting_times="m" * 50_000 if i == 0 else None,
                address="a" * 50_000 if i == 0 else None,
            )
            for i in range(groups)
        ]
        + [
            Service(
                name=f"{i:05d} {long}",
                provider="p" * 300,
                geom=db.to_wkb_element(box(-2, 53, -1.99, 53.01).centroid),
            )
            for i in range(200)
        ]
    )
    session.commit()
    # Groups just over the boundary of the first ward.
    session.add_all(
        [
            CommunityGroup(
                name=f"{i:04d}n {long}",
                status="active",
                geom=db.to_wkb_element(box(-1.99, 53, -1.989, 53.01).centroid),
            )
            for i in range(200)
        ]
    )
    session.commit()


@pytest.mark.slow
def test_map_pages_stay_under_100_kb_however_much_data_there_is(client, session):
    add_lots_of_data(session)
    group_id = session.query(CommunityGroup.id).order_by(CommunityGroup.id).first()[0]
    for url in ("/", "/wards/E05000000", f"/groups/{group_id}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(response.get_data()) < PAGE_LIMIT, url
    assert len(client.get("/map/groups.json").get_json()["rows"]) == 5200  # fetched, not inlined


def test_every_map_page_uses_the_configured_tiles_and_their_attribution(app, session, client):
    app.config.update(
        TILE_URL="http://127.0.0.1:9999/{z}/{x}/{y}.png", TILE_ATTRIBUTION="Our tiles"
    )
    two_wards(session)
    group = make_group(session, "Walkers", (-2.05, 53.45))
    for url in ("/", "/wards/E05000002", f"/groups/{group.id}"):
        html = client.get(url).get_data(as_text=True)
        assert "http://127.0.0.1:9999/{z}/{x}/{y}.png" in html and "Our tiles" in html, url


def test_ward_page_says_every_gap_figure_in_words_and_which_categories_are_missing(client, session):
    wards = two_wards(session)
    wards["E05000002"].population, wards["E05000001"].population = 1000, 2000
    wards["E05000002"].imd_decile = 2
    session.commit()
    for i in range(3):
        make_group(session, f"Food {i}", (-2.05, 53.45 + i / 100), categories=["food-support"])
    make_group(session, "Art", (-1.95, 53.45), categories=["arts-culture"])
    html = client.get("/wards/E05000002").get_data(as_text=True)
    for sentence in (
        "3 groups per 1,000 residents — the highest of the 2 wards in Testshire.",
        "3 active groups based in the ward — the highest of the 2 wards in Testshire.",
        "1,000 residents — the lowest of the 2 wards in Testshire.",
        "Among the 20% most deprived areas nationally",
        "No part of the ward is inside a Local Area Coordinator",
        "None of the 3 groups based here has been verified in the last 12 months.",
    ):
        assert sentence in html, sentence
    present = html[html.index('id="present-heading"') : html.index('id="missing-heading"')]
    missing = html[html.index('id="missing-heading"') :]
    assert "Food support" in present and "Older people" not in present
    assert "Older people" in missing.split("</section>")[0]
    assert "Food support" not in missing.split("</section>")[0]
