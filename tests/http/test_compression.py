"""Gzipped public reads: the same answer decoded, an ETag and a 304 per encoding, kept once."""

import gzip

import pytest

from tests.factories import four_users, make_group, two_wards
from tests.forms import sign_in

WEST = (-2.05, 53.45)
GZIP = {"Accept-Encoding": "gzip, deflate, br"}
TEXT_READS = [
    "/",
    "/map/figures.json",
    "/gaps.geojson",
    "/gaps.csv",
    "/ogc/collections?f=html",
    "/api/openapi.json",
]


@pytest.fixture
def planted(session):
    two_wards(session)
    make_group(session, "Allotment Society", WEST)


@pytest.mark.parametrize("url", TEXT_READS)
def test_a_gzipped_answer_decodes_to_the_same_bytes_with_its_own_etag(client, planted, url):
    plain = client.get(url)
    zipped = client.get(url, headers=GZIP)
    assert plain.status_code == zipped.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    body = zipped.get_data()
    assert len(body) < len(plain.get_data())
    assert zipped.headers["Content-Length"] == str(len(body))
    decoded = gzip.decompress(body)
    if url == "/":  # each page has its own nonce: the rest is the same
        assert decoded.count(b"nonce=") == plain.get_data().count(b"nonce=") > 0
    else:
        assert decoded == plain.get_data()
    for answer in (plain, zipped):
        assert {"Accept", "Accept-Encoding"} <= set(answer.vary)
    assert zipped.headers["ETag"] == plain.headers["ETag"][:-1] + '-gzip"'


@pytest.mark.parametrize("url", ["/map/figures.json", "/gaps.geojson"])
def test_each_encoding_revalidates_with_its_own_tag(client, planted, url):
    plain = client.get(url).headers["ETag"]
    zipped = client.get(url, headers=GZIP).headers["ETag"]
    assert plain != zipped
    assert client.get(url, headers={"If-None-Match": plain}).status_code == 304
    again = client.get(url, headers={**GZIP, "If-None-Match": zipped})
    assert again.status_code == 304 and again.headers["ETag"] == zipped
    assert "Accept-Encoding" in again.vary
    # The other encoding's tag is not this representation's.
    assert client.get(url, headers={**GZIP, "If-None-Match": plain}).status_code == 200
    assert client.get(url, headers={"If-None-Match": zipped}).status_code == 200


def test_the_compressed_answer_is_kept_and_served_as_it_was(client, planted):
    first = client.get("/map/figures.json", headers=GZIP)
    kept = client.get("/map/figures.json", headers=GZIP)
    assert first.headers["X-Cache"] == "miss" and kept.headers["X-Cache"] == "hit"
    assert kept.headers["Content-Encoding"] == "gzip"
    assert kept.get_data() == first.get_data()
    assert gzip.decompress(kept.get_data()).startswith(b'{"wards":[')


def test_small_answers_and_refused_gzip_are_sent_as_they_are(client, planted):
    small = client.get("/map/box.json", headers=GZIP)
    assert small.status_code == 200 and "Content-Encoding" not in small.headers
    assert small.get_json()["bbox"]
    refused = client.get("/map/figures.json", headers={"Accept-Encoding": "gzip;q=0, br"})
    assert "Content-Encoding" not in refused.headers
    assert refused.get_json()["wards"]


def test_a_signed_in_readers_answers_are_gzipped_too_and_never_kept(client, session, planted):
    users = four_users(session)
    sign_in(client, users["editor"].email)
    plain = client.get("/map/figures.json")
    zipped = client.get("/map/figures.json", headers=GZIP)
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.vary
    assert zipped.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in zipped.headers and "X-Cache" not in zipped.headers
    assert gzip.decompress(zipped.get_data()) == plain.get_data()
