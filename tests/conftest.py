"""Fixtures: an app against a real SpatiaLite file and a real PostGIS database.

Every test that takes `app` or `session` runs once per backend. The PostGIS database is
created for this test session (so parallel runs never collide) and dropped afterwards. If
PostGIS cannot be reached the tests fail: set MAPPER_TEST_BACKENDS=spatialite to opt out
knowingly on a machine without it.
"""

import os
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, select, text
from werkzeug.serving import make_server

from mapper import create_app, db
from mapper.models import Base, Category

POSTGRES_ADMIN_URL = os.environ.get(
    "MAPPER_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = os.environ.get("MAPPER_TEST_BACKENDS", "spatialite,postgis").split(",")
SECRET = "test-secret-key"  # noqa: S105
# The real UK open data shared beside the repository (never copied into it).
GEODATA = Path(
    os.environ.get("MAPPER_GEODATA", Path(__file__).resolve().parents[2] / "shared" / "geodata")
)


@pytest.fixture(scope="session")
def geodata():
    """The folder of real UK open data; tests that need it fail loudly when it is missing."""
    if not (GEODATA / "SOURCES.md").exists():
        pytest.fail(f"The shared geodata is not at {GEODATA} (set MAPPER_GEODATA)", pytrace=False)
    return GEODATA


@pytest.fixture(scope="session")
def spatialite_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('spatialite') / 'mapper.sqlite'}"
    engine = db.make_engine(url)
    db.upgrade_schema(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def postgis_url():
    admin = create_engine(db.normalise_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    name = f"mapper_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        pytest.fail(f"PostGIS is not reachable at {POSTGRES_ADMIN_URL}: {error}", pytrace=False)
    url = db.normalise_url(POSTGRES_ADMIN_URL).set(database=name)
    engine = db.make_engine(url)
    db.upgrade_schema(engine)
    engine.dispose()
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request):
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture(scope="session")
def seeded_categories(spatialite_url):
    engine = db.make_engine(spatialite_url)
    with engine.connect() as conn:
        slugs = set(conn.execute(select(Category.slug)).scalars())
    engine.dispose()
    return slugs


def empty_database(engine, keep_categories):
    """Delete every row the tests may have written, keeping the seeded categories."""
    tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name != "categories"]
    with engine.begin() as conn:
        if db.is_spatialite(engine):
            for table in tables:
                conn.execute(table.delete())
        else:
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        conn.execute(delete(Category).where(Category.slug.not_in(keep_categories)))


def make_app(database_url, **overrides):
    return create_app(
        {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": SECRET, **overrides}
    )


@pytest.fixture
def app(database_url, seeded_categories):
    app = make_app(database_url)
    empty_database(app.extensions["mapper.db"].engine, seeded_categories)
    yield app
    app.extensions["mapper.db"].dispose()


@pytest.fixture
def backend(app):
    return "spatialite" if db.is_spatialite(app.extensions["mapper.db"].engine) else "postgis"


@pytest.fixture
def session(app):
    with app.app_context():
        yield db.get_session()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def live_server(app):
    """Serve the app on 127.0.0.1 in a background thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


CHROMIUM = os.environ.get("MAPPER_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageWatch:
    """Records every request a page makes, console errors and dialogs."""

    def __init__(self, page):
        self.page = page
        self.requests, self.errors, self.dialogs = [], [], []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def outside_requests(self):
        local = ("http://127.0.0.1:", "data:", "blob:", "about:")
        return [url for url in self.requests if not url.startswith(local)]

    def screenshot(self, name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield PageWatch(page)
    context.close()
