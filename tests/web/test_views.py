from mapper import create_app
from tests.conftest import SECRET


def test_health_check_reports_the_database(client, backend):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["database"]["backend"] == backend


def test_health_check_answers_503_when_the_database_is_unreachable():
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/nowhere",
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


def test_pages_answer_503_when_the_database_is_unreachable():
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/nowhere",
        }
    )
    response = app.test_client().get("/api/v1/wards")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"


def test_home_page_serves_every_asset_itself(client):
    html = client.get("/").get_data(as_text=True)
    assert "<h1>" in html and 'lang="en-GB"' in html
    assert "http://" not in html and "https://" not in html.replace("https://openreferral", "")
    for asset in (
        "/vendor/leaflet/leaflet.js",
        "/vendor/markercluster/leaflet.markercluster.js",
        "/static/js/map.js",
        "/vendor/leaflet/leaflet.css",
    ):
        assert asset in html
        with client.get(asset) as response:
            assert response.status_code == 200


def test_unknown_vendor_library_is_404(client):
    assert client.get("/vendor/jquery/jquery.js").status_code == 404


def test_tile_url_adds_a_base_map_with_its_attribution(database_url):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "DATABASE_URL": database_url,
            "TILE_URL": "http://127.0.0.1:9999/{z}/{x}/{y}.png",
            "TILE_ATTRIBUTION": "Local tiles",
        }
    )
    html = app.test_client().get("/").get_data(as_text=True)
    assert "http://127.0.0.1:9999/{z}/{x}/{y}.png" in html and "Local tiles" in html
    app.extensions["mapper.db"].dispose()
