"""The OGC API's HTTP manners: 405s say what is allowed, a trailing slash redirects."""

import pytest

from tests.factories import make_group, two_wards


@pytest.mark.parametrize(
    "path", ["/ogc", "/ogc/collections", "/ogc/collections/groups/items", "/ogc/conformance"]
)
def test_a_405_carries_allow(client, path):
    response = client.post(path)
    assert response.status_code == 405
    assert {"GET", "HEAD"} <= {m.strip() for m in response.headers["Allow"].split(",")}
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_a_trailing_slash_redirects_to_the_path_without_it(client, session):
    two_wards(session)
    group_id = make_group(session, "Chess Club", (-2.05, 53.45)).id
    for path in [
        "/ogc/collections",
        "/ogc/collections/groups",
        "/ogc/collections/groups/items",
        f"/ogc/collections/groups/items/{group_id}",
        "/ogc/conformance",
    ]:
        response = client.get(f"{path}/?f=json")
        assert response.status_code == 308, path
        assert response.headers["Location"] == f"{path}?f=json"
        assert client.get(f"{path}/?f=json", follow_redirects=True).status_code == 200
    assert client.get("/ogc/").status_code == 200  # the landing page answers at both
    assert client.get("/ogc/nothing").status_code == 404
    assert client.get("/ogc/nothing/", follow_redirects=True).status_code == 404


@pytest.mark.parametrize("collection", ["groups", "services", "gaps"])
def test_an_unknown_category_is_the_same_400_on_every_collection(client, session, collection):
    two_wards(session)
    make_group(session, "Chess Club", (-2.05, 53.45), categories=["faith"])
    response = client.get(f"/ogc/collections/{collection}/items?category=faith,no-such-thing")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert "category" in error["fields"] and "no-such-thing" in error["fields"]["category"]
    assert client.get(f"/ogc/collections/{collection}/items?category=faith").status_code == 200
