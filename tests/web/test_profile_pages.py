"""Complete, correct profiles: every list of a ward page pages, the groups from elsewhere are
listed, services have public pages, and a group's page links its contacts and its editors."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from mapper.store.models import Ward
from mapper.web import mapdata
from tests.factories import make_group, make_service, make_user, two_wards
from tests.forms import sign_in

WEST = "E05000002"
LINK = re.compile(r'<a href="/groups/(\d+)">')


def group_ids_on(html, section):
    """The ids of the groups linked in one section (by its id) of a ward page."""
    part = html.split(f'id="{section}"', 1)[1].split("</section>", 1)[0]
    return [int(i) for i in LINK.findall(part)]


def test_every_group_of_a_ward_is_on_one_of_its_pages(client, session):
    two_wards(session)
    made = [
        make_group(session, f"Group {i:02d}", (-2.05, 53.41 + i / 1000)).id
        for i in range(mapdata.LIST_LIMIT + 5)
    ]
    first = client.get(f"/wards/{WEST}").get_data(as_text=True)
    assert "45 active groups; 1–40 by name." in first
    assert 'href="/wards/E05000002?groups_page=2#ward-groups"' in first and "Page 1 of 2" in first
    second = client.get(f"/wards/{WEST}?groups_page=2").get_data(as_text=True)
    assert "45 active groups; 41–45 by name." in second
    assert 'href="/wards/E05000002?groups_page=1#ward-groups"' in second
    listed = group_ids_on(first, "ward-groups") + group_ids_on(second, "ward-groups")
    assert listed == made  # by name, each once
    # A page past the last shows the last.
    past = client.get(f"/wards/{WEST}?groups_page=9").get_data(as_text=True)
    assert group_ids_on(past, "ward-groups") == made[40:]


def test_one_list_pages_without_losing_the_page_of_another(client, session):
    two_wards(session)
    for i in range(mapdata.LIST_LIMIT + 1):
        make_group(session, f"Group {i:02d}", (-2.05, 53.41 + i / 1000))
        make_service(session, f"Service {i:02d}", (-2.05, 53.41 + i / 1000))
    html = client.get(f"/wards/{WEST}?groups_page=2").get_data(as_text=True)
    assert "41 services; 1–40 by name." in html
    assert 'href="/wards/E05000002?groups_page=2&amp;services_page=2#services"' in html


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_page_number_is_a_400_naming_it(client, session, value):
    two_wards(session)
    response = client.get(f"/wards/{WEST}?serving_page={value}")
    assert response.status_code == 400
    assert "serving_page" in response.get_data(as_text=True)


def test_the_groups_from_elsewhere_are_listed_as_counted(client, session):
    wards = two_wards(session)
    west = session.get(Ward, wards[WEST].id)
    east = session.scalar(select(Ward).where(Ward.code == "E05000001"))
    visiting = make_group(session, "Visiting Choir", (-1.95, 53.45), wards_served=[west])
    make_group(session, "Closed Visitors", (-1.95, 53.46), status="closed", wards_served=[west])
    make_group(session, "Home Team", (-2.05, 53.45), wards_served=[west])  # based here
    make_group(session, "East Only", (-1.95, 53.47), wards_served=[east])
    html = client.get(f"/wards/{WEST}").get_data(as_text=True)
    assert group_ids_on(html, "serving") == [visiting.id]
    assert "1 group based in another ward says it works here." in html
    assert "based in East Ward" in html
    assert "1 group based in other wards says it works in this ward." in html  # the figure
    east_page = client.get("/wards/E05000001").get_data(as_text=True)
    assert "No groups based in other wards say they work in this ward." in east_page


def test_the_groups_just_over_the_boundary_page_too(client, session):
    two_wards(session)
    made = [
        make_group(session, f"Near {i:02d}", (-1.9995, 53.41 + i / 1000)).id
        for i in range(mapdata.LIST_LIMIT + 2)
    ]
    first = client.get(f"/wards/{WEST}").get_data(as_text=True)
    second = client.get(f"/wards/{WEST}?nearby_page=2").get_data(as_text=True)
    assert "42 groups in neighbouring wards are within 500 metres of this ward; 1–40" in first
    listed = group_ids_on(first, "nearby") + group_ids_on(second, "nearby")
    assert sorted(listed) == made and len(set(listed)) == len(made)


def test_a_service_has_a_public_page_linked_from_its_ward(client, session):
    two_wards(session)
    service = make_service(
        session,
        "Warm Space <b>",
        (-2.05, 53.45),
        description="Tea and a warm room",
        provider="Testshire Libraries",
        place_name="Central Library",
        address="1 High Street",
        postcode="TE1 1ST",
        opening_hours="Mondays 10-4",
        contact_public="warm@libraries.example or 0161 496 0000",
        website="https://libraries.example/warm",
    )
    ward = client.get(f"/wards/{WEST}").get_data(as_text=True)
    assert f'href="/services/{service.id}"' in ward
    response = client.get(f"/services/{service.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Warm Space &lt;b&gt;" in html and "Warm Space <b>" not in html
    for text in (
        "Tea and a warm room",
        "Testshire Libraries",
        "Central Library, 1 High Street",
        "Mondays 10-4",
        'href="/wards/E05000002"',
        'href="https://libraries.example/warm"',
    ):
        assert text in html, text
    assert '<a href="mailto:warm@libraries.example">warm@libraries.example</a>' in html
    assert '<a href="tel:+441614960000">0161 496 0000</a>' in html
    assert re.search(r"Listed since</dt><dd>\d{1,2} [A-Z][a-z]+ 20\d\d</dd>", html)


@pytest.mark.parametrize("status", ["inactive", "closed", "pending"])
def test_a_withdrawn_or_unknown_service_has_no_page(client, session, status):
    two_wards(session)
    service = make_service(session, "Gone Service", (-2.05, 53.45), status=status)
    response = client.get(f"/services/{service.id}")
    assert response.status_code == 404 and "Gone Service" not in response.get_data(as_text=True)
    assert client.get("/services/987654").status_code == 404


def test_a_map_popup_of_a_service_links_its_page(client, session):
    two_wards(session)
    html = client.get(f"/wards/{WEST}").get_data(as_text=True)
    assert '"service_page": "/services/{id}"' in html


def test_a_group_page_links_its_contacts_and_says_dates_in_words(client, session):
    two_wards(session)
    group = make_group(
        session,
        "Walkers",
        (-2.05, 53.45),
        contact_public="Ring Sam on 07700 900123 or write to walk@walkers.example",
        last_verified=date(2025, 3, 3),
        active_from=date(2019, 11, 21),
    )
    html = client.get(f"/groups/{group.id}").get_data(as_text=True)
    assert (
        'Ring Sam on <a href="tel:+447700900123">07700 900123</a> or write to '
        '<a href="mailto:walk@walkers.example">walk@walkers.example</a>'
    ) in html
    assert "<dd>3 March 2025</dd>" in html and "2025-03-03" not in html
    assert "<dd>21 November 2019</dd>" in html
    assert f'href="/groups/{group.id}/report"' in html


def test_the_edit_link_is_shown_only_to_those_who_may_edit(app, session):
    two_wards(session)
    editor = make_user(session, "ed@lio.example", organisation="LIO")
    other = make_user(session, "other@elsewhere.example", organisation="Elsewhere")
    admin = make_user(session, "admin@council.example", "admin", "Council", True)
    group = make_group(session, "Walkers", (-2.05, 53.45), organisation_id=editor.organisation_id)
    edit = f'href="/groups/{group.id}/edit"'
    assert edit not in app.test_client().get(f"/groups/{group.id}").get_data(as_text=True)
    for user, shown in ((editor, True), (other, False), (admin, True)):
        client = app.test_client()
        sign_in(client, user.email)
        response = client.get(f"/groups/{group.id}")
        assert (edit in response.get_data(as_text=True)) is shown, user.email
        assert response.headers["Cache-Control"] == "private, no-store"


def test_a_service_page_is_cached_as_public_reads_are_and_the_tell_us_form_is_not(client, session):
    two_wards(session)
    service = make_service(session, "Warm Space", (-2.05, 53.45))
    group = make_group(session, "Walkers", (-2.05, 53.45))
    first, second = (client.get(f"/services/{service.id}") for _ in range(2))
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("miss", "hit")
    assert first.headers["ETag"]
    form = client.get(f"/groups/{group.id}/report")
    assert form.headers["Cache-Control"] == "private, no-store" and "X-Cache" not in form.headers
