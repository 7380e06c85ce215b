"""Fixtures: an app against a real SpatiaLite file and a real PostGIS database.

Every test that takes `app` or `session` runs once per backend. The PostGIS database is
created for this test session (so parallel runs never collide) and dropped afterwards. If
PostGIS cannot be reached the tests fail: set MAPPER_TEST_BACKENDS=spatialite to opt out
knowingly on a machine without it.
"""

import os
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, select, text
from werkzeug.serving import make_server

from mapper import create_app
from mapper.store import db, kept
from mapper.store.models import Base, Category

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


@contextmanager
def new_postgis_database(prefix="mapper_test"):
    """Create an empty PostgreSQL database of its own; yield its URL; drop it afterwards."""
    admin = create_engine(db.normalise_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            # A test database need not survive a crash of the server: commits do not wait
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))
    except Exception as error:
        pytest.fail(f"PostGIS is not reachable at {POSTGRES_ADMIN_URL}: {error}", pytrace=False)
    try:
        yield (
            db.normalise_url(POSTGRES_ADMIN_URL)
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgis_url():
    with new_postgis_database() as url:
        engine = db.make_engine(url)
        db.upgrade_schema(engine)
        engine.dispose()
        yield url


@pytest.fixture(params=BACKENDS)
def unmigrated_database_url(request, tmp_path):
    """A database of each backend with nothing in it yet, for tests of the migrations."""
    if request.param == "spatialite":
        yield f"sqlite:///{tmp_path / 'unmigrated.sqlite'}"
    else:
        with new_postgis_database("mapper_migrations") as url:
            yield url


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
        for table in tables:  # DELETE: a TRUNCATE of every table costs half a second
            conn.execute(table.delete())
        conn.execute(delete(Category).where(Category.slug.not_in(keep_categories)))
        conn.execute(delete(kept.kept_answers))  # answers to what was here, at its versions
        if not db.is_spatialite(engine):  # ids start again from 1, as SQLite's do
            conn.execute(
                text(
                    "SELECT setval(s.oid::regclass, 1, false) FROM pg_class s "
                    "JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i') "
                    "JOIN pg_class t ON t.oid = d.refobjid "
                    "WHERE s.relkind = 'S' AND t.relname = ANY(:names)"
                ),
                {"names": [t.name for t in tables]},
            )


def make_app(database_url, **overrides):
    return create_app(
        {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": SECRET, **overrides}
    )


@pytest.fixture
def app(database_url, seeded_categories, tmp_path):
    app = make_app(
        database_url,
        UPLOAD_FOLDER=str(tmp_path / "uploads"),
        MAIL_FOLDER=str(tmp_path / "mail"),
    )
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


class ClosedWhenSent:
    """An answer's body that is closed as soon as its last chunk has been written.

    Werkzeug's development server closes the body only after draining the socket, and skips
    the close when the client has hung up by then (Chromium does, after a redirect): the
    work the app does on close (delivering mail) would then never run. gunicorn always
    closes. The body underneath is closed once, whoever asks first.
    """

    def __init__(self, body):
        self.body = body

    def __iter__(self):
        try:
            yield from self.body
        finally:
            self.close()

    def close(self):
        close, self.body = getattr(self.body, "close", None), ()
        if close is not None:
            close()


@pytest.fixture
def live_server(app):
    """Serve the app on 127.0.0.1 in a background thread; yields its base URL."""

    def closing(environ, start_response):
        return ClosedWhenSent(app(environ, start_response))

    server = make_server("127.0.0.1", 0, closing, threaded=True)
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


class SmtpInbox:
    """What a real in-process SMTP server (aiosmtpd) received."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self):
        """Every received message, parsed."""
        from email import message_from_bytes
        from email.policy import default

        return [message_from_bytes(e.original_content, policy=default) for e in self.envelopes]

    def wait_for(self, count=1, timeout=30):
        """Wait until `count` messages arrived; return them. Mail goes out after the answer,
        queued behind SQLite's writers, so a loaded machine may take some seconds."""
        import time

        deadline = time.monotonic() + timeout
        while len(self.envelopes) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages()


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1; yields (inbox, its smtp:// URL)."""
    from aiosmtpd.controller import Controller

    inbox = SmtpInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, f"smtp://127.0.0.1:{port}"
    controller.stop()


@pytest.fixture
def mail_app(app, smtp_server):
    """The app, sending its mail to the in-process SMTP server; yields (app, inbox)."""
    inbox, url = smtp_server
    app.config.update(MAIL_BACKEND="smtp", SMTP_URL=url)
    return app, inbox
