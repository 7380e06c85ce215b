"""A Python GIS client nobody here wrote: OWSLib's OGC API – Features reads our /ogc over HTTP."""

import pytest
from owslib.ogcapi.features import Features

from tests.factories import make_group, two_wards


@pytest.fixture
def features(live_server, monkeypatch):
    # No proxy for the loopback server; requests would otherwise honour one from the environment.
    monkeypatch.setenv("NO_PROXY", "*")
    return Features(f"{live_server}/ogc")


def test_owslib_lists_the_collections_and_reads_items(features, session):
    two_wards(session)
    make_group(session, "Chess Club", (-2.05, 53.45))
    assert set(features.feature_collections()) == {"wards", "groups", "services", "gaps"}
    page = features.collection_items("groups", bbox=[-2.06, 53.44, -2.04, 53.46])
    assert [f["properties"]["name"] for f in page["features"]] == ["Chess Club"]


def test_owslib_fetches_one_feature_by_id(features, session):
    two_wards(session)
    group_id = make_group(session, "Chess Club", (-2.05, 53.45)).id
    feature = features.collection_item("groups", str(group_id))
    assert feature["id"] == group_id and feature["properties"]["name"] == "Chess Club"
    ward = features.collection_item("wards", "E05000001")
    assert ward["id"] == "E05000001" and ward["geometry"]["type"] == "MultiPolygon"
