"""A frozen database is an outage, not a hang: a real PostgreSQL cluster, stopped by SIGSTOP.

The module starts a PostgreSQL cluster of its own on a port of its own (5441-5449), loads the
schema, and freezes every one of its processes with SIGSTOP (the kernel still accepts
connections and acknowledges what is sent, but nothing answers), then resumes them with
SIGCONT and drops the cluster.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from mapper.store import db
from tests.conftest import make_app
from tests.factories import two_wards

pytestmark = pytest.mark.slow

CLUSTER = f"mapper-frozen-{os.getpid()}"
TIMEOUTS = {
    "DATABASE_CONNECT_TIMEOUT": 2.0,
    "DATABASE_STATEMENT_TIMEOUT": 2.0,
    "DATABASE_POOL_TIMEOUT": 1.0,
}


def _version():
    versions = sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(p) for p in v.split(".")])
    return versions[-1]


def _free_port():
    taken = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout
    used = {int(line.split()[2]) for line in taken.splitlines() if line.strip()}
    for port in range(5441, 5450):
        if port not in used:
            return port
    pytest.fail("no free port in 5441-5449 for a PostgreSQL cluster of this test")


def _cluster_pids(version):
    data = Path(f"/var/lib/postgresql/{version}/{CLUSTER}")
    postmaster = int((data / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(postmaster)], capture_output=True, text=True
    ).stdout.split()
    return [postmaster, *map(int, children)]


@contextmanager
def frozen_postgres():
    """Yield (URL of a migrated database, freeze(), thaw()) on a cluster of its own."""
    if not shutil.which("pg_createcluster"):
        pytest.fail("pg_createcluster is missing (Debian's postgresql-common)", pytrace=False)
    version, port = _version(), _free_port()
    subprocess.run(
        [
            "pg_createcluster",
            "-p",
            str(port),
            version,
            CLUSTER,
            "--start",
            "--",
            "--auth-host=trust",
            "--auth-local=trust",
        ],
        check=True,
        capture_output=True,
    )
    stopped = []

    def freeze():
        stopped[:] = _cluster_pids(version)
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)

    def thaw():
        for pid in stopped:
            # A backend that was ending as it was frozen may be gone once its parent runs.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        stopped.clear()

    try:
        admin = create_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE frozen"))
        admin.dispose()
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/frozen"
        engine = db.make_engine(url)
        db.upgrade_schema(engine)
        engine.dispose()
        yield url, freeze, thaw
    finally:
        thaw()
        subprocess.run(
            ["pg_dropcluster", "--stop", version, CLUSTER], check=False, capture_output=True
        )


@pytest.fixture(scope="module")
def frozen_cluster():
    with frozen_postgres() as cluster:
        yield cluster


@contextmanager
def served(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def timed_get(url, timeout=60):
    """Return (status, seconds) of a GET."""
    start = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.monotonic() - start


@pytest.fixture
def frozen_app(frozen_cluster, seeded_categories):
    url, freeze, thaw = frozen_cluster
    app = make_app(url, **TIMEOUTS)
    with app.app_context():
        two_wards(db.get_session())
    with served(app) as base:
        # Warm the pool: the frozen server then holds connections already open.
        assert timed_get(f"{base}/api/v1/wards")[0] == 200
        freeze()
        try:
            yield base
        finally:
            thaw()
    app.extensions["mapper.db"].dispose()


def test_healthz_answers_503_within_2_seconds_when_the_database_is_frozen(frozen_app):
    status, seconds = timed_get(f"{frozen_app}/healthz")
    assert status == 503 and seconds < 2.0


@pytest.mark.parametrize("path", ["/api/v1/wards", "/api/v1/groups", "/wards/E05000002"])
def test_pages_and_the_api_answer_503_within_the_timeouts(frozen_app, path):
    status, seconds = timed_get(frozen_app + path)
    limit = TIMEOUTS["DATABASE_STATEMENT_TIMEOUT"] + TIMEOUTS["DATABASE_CONNECT_TIMEOUT"] + 3
    assert status == 503 and seconds < limit


def test_many_requests_at_once_do_not_stop_static_files_or_healthz(frozen_app):
    with_database = [
        threading.Thread(target=timed_get, args=(f"{frozen_app}/api/v1/wards",), daemon=True)
        for _ in range(8)
    ]
    for thread in with_database:
        thread.start()
    time.sleep(0.5)
    assert timed_get(f"{frozen_app}/static/css/site.css")[0] == 200
    status, seconds = timed_get(f"{frozen_app}/healthz")
    assert status == 503 and seconds < 2.0
    for thread in with_database:
        thread.join(30)
        assert not thread.is_alive()  # each gave up within the timeouts


def test_the_service_recovers_when_the_database_thaws(frozen_cluster, seeded_categories):
    url, freeze, thaw = frozen_cluster
    app = make_app(url, **TIMEOUTS)
    with served(app) as base:
        assert timed_get(f"{base}/api/v1/wards")[0] == 200
        freeze()
        assert timed_get(f"{base}/api/v1/wards")[0] == 503
        thaw()
        statuses = [timed_get(f"{base}/api/v1/wards")[0] for _ in range(3)]
        assert statuses[-1] == 200 and timed_get(f"{base}/healthz")[0] == 200
    app.extensions["mapper.db"].dispose()
