"""`mapper import-openreferral`: a feed served over real HTTP, built from the UK profile's
examples, imported page by page on both backends; and our own feed imported into a second,
empty database."""

import copy
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from mapper.core.analysis import compute_gaps
from mapper.store import db
from mapper.store.models import Organisation, Service
from tests.api.test_openreferral import directory  # noqa: F401 (a fixture)
from tests.conftest import make_app, new_postgis_database
from tests.factories import two_wards

WEST, EAST = (-2.05, 53.45), (-1.95, 53.45)  # in the two wards of two_wards


class Feed:
    """An Open Referral feed on 127.0.0.1: pages by number, full services by id."""

    def __init__(self):
        self.pages, self.services = {}, {}
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the standard library's name)
                parts = urlsplit(self.path)
                if parts.path == "/feed/services":
                    number = int(parse_qs(parts.query).get("page", ["1"])[0])
                    body = feed.pages.get(number)
                elif parts.path.startswith("/feed/services/"):
                    body = feed.services.get(parts.path.rsplit("/", 1)[1])
                else:
                    body = None
                if body is None:
                    self.send_error(404)
                    return
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/feed"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def set_pages(self, *pages):
        """Serve these pages: each a list of services (full, or listed by their one-to-one
        fields, then served in full by id), or a text served as it is."""
        self.pages = {}
        for number, page in enumerate(pages, 1):
            if isinstance(page, str):
                self.pages[number] = page
                continue
            contents = []
            for full, listed in page:
                self.services[full["id"]] = full
                contents.append(listed if listed is not None else full)
            self.pages[number] = {
                "total_items": sum(len(p) for p in pages if not isinstance(p, str)),
                "total_pages": len(pages),
                "page_number": number,
                "size": len(contents),
                "first_page": number == 1,
                "last_page": number == len(pages),
                "empty": not contents,
                "contents": contents,
            }


@pytest.fixture
def feed():
    served = Feed()
    served.thread.start()
    yield served
    served.server.shutdown()
    served.thread.join()
    served.server.server_close()


@pytest.fixture(scope="module")
def examples(geodata):
    folder = geodata / "openreferral_uk"
    return (
        json.loads((folder / "oruk_example_service_full.json").read_text()),
        json.loads((folder / "oruk_example_service_list.json").read_text())["contents"][0],
    )


def variant(examples, name, lonlat, term, listed=False):
    """The profile's example service, renamed, moved into our wards and given our term;
    with its list item (one-to-one fields) when `listed`."""
    full, item = copy.deepcopy(examples)
    service_id = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
    full.update(id=service_id, name=name)
    location = full["service_at_locations"][0]["location"]
    location["longitude"], location["latitude"] = lonlat
    full["attributes"][0]["taxonomy_term"]["term"] = term
    item.update(id=service_id, name=name)
    return full, (item if listed else None)


def run(app, *args):
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


def stored(session):
    session.expire_all()
    return {s.name: s for s in session.scalars(select(Service))}


def test_a_feed_is_read_page_by_page_and_a_malformed_page_is_skipped_and_named(
    app, session, feed, examples
):
    two_wards(session)
    untouched = copy.deepcopy(examples)  # latitude 100, longitude 101: nowhere
    feed.set_pages(
        [
            variant(examples, "Counselling West", WEST, "mental-health-wellbeing", listed=True),
            variant(examples, "Food Share East", EAST, "food-support"),
        ],
        "{not json",
        [untouched, variant(examples, "Advice East", EAST, "Advice and money")],
    )
    result = run(app, "import-openreferral", feed.url)
    assert result.exit_code == 1, result.output  # something was rejected
    output = result.output
    assert f"page 2: skipped: {feed.url}/services?page=2&per_page=100 is not JSON" in output
    assert "latitude 100, longitude 101 are out of range (Community Counselling)" in output
    assert "3 imported, 0 updated, 0 unchanged, 2 rejected" in output
    assert "no service was closed" in output

    services = stored(session)
    assert set(services) == {"Counselling West", "Food Share East", "Advice East"}
    west = services["Counselling West"]  # listed by its one-to-one fields, fetched in full
    source = feed.url.removeprefix("http://")
    assert west.external_id == f"oruk:{source}:{uuid.uuid5(uuid.NAMESPACE_URL, west.name)}"
    assert west.provider == "Example Organization Inc."
    assert west.website == "http://example.com/counselling"
    assert west.contact_public == "email@example.com"
    assert west.address == "1-30 Main Street" and west.place_name == "MyCity Civic Center"
    assert west.postcode is None  # "ABC 1234" is not a UK postcode
    assert west.opening_hours.startswith("The service is available from 10 am")
    assert west.status == "active" and west.ward.code == "E05000002"
    assert [c.slug for c in west.categories] == ["mental-health-wellbeing"]
    assert [c.slug for c in services["Advice East"].categories] == ["advice-money"]  # by name

    gaps = compute_gaps(session).set_index("ward_code")
    assert gaps.loc["E05000002", "services"] == 1 and gaps.loc["E05000001", "services"] == 2


def test_a_re_import_updates_by_id_and_closes_what_the_feed_no_longer_lists(
    app, session, client, feed, examples
):
    two_wards(session)
    kept = variant(examples, "Counselling West", WEST, "mental-health-wellbeing", listed=True)
    dropped = variant(examples, "Food Share East", EAST, "food-support")
    feed.set_pages([kept], [dropped])
    first = run(app, "import-openreferral", feed.url)
    assert first.exit_code == 0, first.output
    assert (
        "2 imported" in first.output and "0 services no longer in the feed closed" in first.output
    )
    west_id = stored(session)["Counselling West"].id

    renamed = copy.deepcopy(kept[0])
    renamed["name"] = "Counselling West (renamed)"
    feed.set_pages([(renamed, None)])
    second = run(app, "import-openreferral", feed.url)
    assert second.exit_code == 0, second.output
    assert "0 imported, 1 updated, 0 unchanged" in second.output
    assert "1 services no longer in the feed closed" in second.output
    services = stored(session)
    assert services["Counselling West (renamed)"].id == west_id  # the same record, by its id
    assert services["Food Share East"].status == "closed"
    public = client.get("/openreferral/services").get_json()
    assert [s["name"] for s in public["contents"]] == ["Counselling West (renamed)"]

    again = run(app, "import-openreferral", feed.url)
    assert "0 imported, 0 updated, 1 unchanged" in again.output


def test_a_file_of_a_page_or_of_one_service_is_imported_under_its_source(
    app, session, tmp_path, examples
):
    two_wards(session)
    full, _ = variant(examples, "Food Share East", EAST, "food-support")
    one = tmp_path / "one.json"
    one.write_text(json.dumps(full))
    result = run(app, "import-openreferral", one, "--source", "council")
    assert result.exit_code == 0, result.output
    assert stored(session)["Food Share East"].external_id == f"oruk:council:{full['id']}"

    broken = tmp_path / "broken.json"
    broken.write_text('{"contents": 3}')
    result = run(app, "import-openreferral", broken)
    assert result.exit_code != 0
    assert f"{broken}: is not an Open Referral page" in result.output
    result = run(app, "import-openreferral", tmp_path / "missing.json")
    assert result.exit_code == 2 and "neither an http(s) address nor a file" in result.output


def comparable(client):
    """What a feed says of each service, less its ids and times, by name."""
    page = client.get("/openreferral/services?per_page=1000").get_json()
    services = []
    for item in page["contents"]:
        full = client.get(f"/openreferral/services/{item['id']}").get_json()
        (at,) = full["service_at_locations"]
        location = at["location"]
        services.append(
            {
                "name": full["name"],
                "description": full.get("description"),
                "url": full.get("url"),
                "email": full.get("email"),
                "organization": full.get("organization", {}).get("name"),
                "at": (location.get("name"), location["longitude"], location["latitude"]),
                "addresses": [
                    (a["address_1"], a["postal_code"]) for a in location.get("addresses", [])
                ],
                "schedules": [
                    (s.get("description"), s.get("attending_type")) for s in full["schedules"]
                ],
                "extents": [a["extent"] for a in full["service_areas"] if "extent" in a],
                "terms": [a["taxonomy_term"]["term"] for a in full["attributes"]],
            }
        )
    return sorted(services, key=lambda s: s["name"])


@pytest.fixture
def second_database(backend, tmp_path):
    """A second database of the same backend, migrated and empty."""
    if backend == "spatialite":
        url = f"sqlite:///{tmp_path / 'second.sqlite'}"
        engine = db.make_engine(url)
        db.upgrade_schema(engine)
        engine.dispose()
        yield url
        return
    with new_postgis_database("mapper_second") as url:
        engine = db.make_engine(url)
        db.upgrade_schema(engine)
        engine.dispose()
        yield url


@pytest.mark.usefixtures("directory")
def test_our_own_feed_imported_into_an_empty_database_gives_the_same_services(
    client, live_server, second_database
):
    other = make_app(second_database)
    try:
        with other.app_context():  # over the first app's, which the fixtures hold open
            two_wards(db.get_session())
            result = run(other, "import-openreferral", f"{live_server}/openreferral/")
        assert result.exit_code == 0, result.output
        assert "4 imported, 0 updated, 0 unchanged, 0 rejected" in result.output
        ours = comparable(client)
        assert [s["name"] for s in ours] == [
            "Advice Desk",
            "Food Bank",
            "Plain Group",
            "Walking Group",
        ]
        assert comparable(other.test_client()) == ours
    finally:
        other.extensions["mapper.db"].dispose()


def test_a_page_or_service_the_server_refuses_is_skipped_and_a_bad_first_page_stops_it(
    app, session, client, feed, examples
):
    two_wards(session)
    good = variant(examples, "Food Share East", EAST, "food-support")
    missing = variant(examples, "Counselling West", WEST, "food-support", listed=True)
    feed.set_pages([good, missing], [], [good])
    del feed.services[missing[0]["id"]]  # listed, but its full record answers 404
    feed.pages.pop(2)  # the server has no page 2: a 404
    result = run(app, "import-openreferral", feed.url)
    assert result.exit_code == 1, result.output
    assert f"page 1, service 2: skipped: {feed.url}/services/{missing[0]['id']} HTTP 404" in (
        result.output
    )
    assert f"page 2: skipped: {feed.url}/services?page=2&per_page=100 HTTP 404" in result.output
    assert "1 imported, 0 updated, 1 unchanged, 2 rejected" in result.output  # page 3 again
    # The example's contact is a person: never imported, never published.
    text = client.get("/openreferral/services").get_data(as_text=True)
    assert "Food Share East" in text and "Ann Persona" not in text

    feed.pages[1] = {"contents": "nothing"}
    result = run(app, "import-openreferral", feed.url)
    assert result.exit_code == 1
    assert "the first page is not an Open Referral page" in result.output
    assert "nothing was read" in result.output


def test_a_service_with_fields_of_the_wrong_type_is_rejected_not_a_crash(
    app, session, feed, examples
):
    two_wards(session)
    good = variant(examples, "Food Share East", EAST, "food-support")
    odd = variant(examples, "Odd Service", EAST, "food-support")
    odd[0]["schedules"] = [{"attending_type": 12}]
    odd[0]["attributes"] = 7
    feed.set_pages([good, odd])
    result = run(app, "import-openreferral", feed.url)
    assert result.exit_code == 1, result.output
    assert "page 1, service 2: is not a well-formed Open Referral service" in result.output
    assert set(stored(session)) == {"Food Share East"}


def test_a_service_is_linked_to_the_stored_organisation_sharing_its_org_id(
    app, session, tmp_path, examples
):
    two_wards(session)
    council = Organisation(name="Testshire Council")
    council.org_ids = ["GB-COH-01234567"]  # the example's GB-COH 1234567, normalised
    session.add(council)
    session.commit()
    known, _ = variant(examples, "Food Share East", EAST, "food-support")
    unknown, _ = variant(examples, "Counselling West", WEST, "mental-health-wellbeing")
    unknown["organization"]["organization_identifiers"] = [
        {"identifier_scheme": "GB-COH", "identifier": "7654321"},
        {"identifier_scheme": "XX-TAX", "identifier": "not ours"},  # left out, not an error
    ]
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"contents": [known, unknown], "total_pages": 1, "page_number": 1}))
    result = run(app, "import-openreferral", page, "--source", "council")
    assert result.exit_code == 0, result.output
    services = stored(session)
    assert services["Food Share East"].organisation_id == council.id
    assert services["Counselling West"].organisation_id is None
