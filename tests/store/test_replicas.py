"""Read replicas against a real PostgreSQL primary and a real streaming replica.

The module makes two clusters of its own (pg_createcluster on free ports in 5451-5459, the
replica by `pg_basebackup -R`), never touching the cluster on 5432, and drops them afterwards.
Which database answered is read from the data: replay on the replica is paused, so a change
on the primary is visible there only.
"""

import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from mapper.store import db
from tests.conftest import make_app
from tests.factories import make_token, make_user, run_cli

pytestmark = pytest.mark.slow
VERSIONS = (
    sorted(os.listdir("/etc/postgresql"), key=int) if Path("/etc/postgresql").is_dir() else []
)
PORTS = range(5451, 5460)
SETTINGS = """
listen_addresses = '127.0.0.1'
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
"""
HBA = """
local all all trust
host all all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
"""


def run(*args):
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


def free_ports(count):
    """Ports in 5451-5459 that nothing listens on and no cluster claims."""
    claimed = run("pg_lsclusters", "--no-header")
    found = []
    for port in PORTS:
        if f" {port} " in claimed:
            continue
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                found.append(port)
    if len(found) < count:
        pytest.fail(f"no {count} free ports in 5451-5459 for the test clusters", pytrace=False)
    return found[:count]


class Cluster:
    """A PostgreSQL cluster of this test module (Debian's postgresql-common tools)."""

    def __init__(self, version, name, port):
        self.version, self.name, self.port = version, name, port
        self.config = Path(f"/etc/postgresql/{version}/{name}")
        self.data = Path(f"/var/lib/postgresql/{version}/{name}")

    def create(self):
        run("pg_createcluster", self.version, self.name, "-p", self.port, "--start-conf", "manual")
        (self.config / "conf.d").mkdir(exist_ok=True)
        (self.config / "conf.d" / "test.conf").write_text(SETTINGS)
        (self.config / "pg_hba.conf").write_text(HBA)

    def ctl(self, action):
        run(
            "pg_ctlcluster",
            "--skip-systemctl-redirect",
            self.version,
            self.name,
            action,
            "-m",
            "fast",
        )

    def url(self, database="postgres"):
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def drop(self):
        subprocess.run(["pg_dropcluster", "--stop", self.version, self.name], capture_output=True)


@pytest.fixture(scope="module")
def clusters():
    """(primary, replica): a primary with the schema and the demo, and its streaming replica."""
    if not VERSIONS or shutil.which("pg_createcluster") is None:
        pytest.fail("PostgreSQL's cluster tools (postgresql-common) are missing", pytrace=False)
    version, tag = VERSIONS[-1], uuid.uuid4().hex[:6]
    primary_port, replica_port = free_ports(2)
    primary = Cluster(version, f"mapper_primary_{tag}", primary_port)
    replica = Cluster(version, f"mapper_replica_{tag}", replica_port)
    try:
        primary.create()
        primary.ctl("start")
        admin = create_engine(primary.url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE mapper"))
        admin.dispose()
        app = make_app(primary.url("mapper"))
        run_cli(app, "demo")
        app.extensions["mapper.db"].dispose()

        replica.create()
        for child in replica.data.iterdir():  # pg_basebackup fills the empty folder
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        run("runuser", "-u", "postgres", "--", "pg_basebackup", "-h", "127.0.0.1",
            "-p", primary.port, "-U", "postgres", "-D", replica.data, "-R", "-X", "stream",
            "-c", "fast")  # fmt: skip
        replica.ctl("start")
        yield primary, replica
    finally:
        replica.drop()
        primary.drop()


def sql(url, statement, **values):
    """Run one statement on a database, committed; return the first column of its rows."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            result = conn.execute(text(statement), values)
            return result.scalars().all() if result.returns_rows else None
    finally:
        engine.dispose()


def wait_for(predicate, seconds=30):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture
def paused(clusters):
    """The replica caught up with the primary, then its replay paused; resumed afterwards."""
    primary, replica = clusters
    # A commit for the replica to replay: its lag is measured from the last one replayed.
    sql(primary.url("mapper"), "SELECT txid_current()")
    position = sql(primary.url("mapper"), "SELECT pg_current_wal_insert_lsn()::text")[0]
    wait_for(lambda: sql(
        replica.url("mapper"),
        "SELECT pg_last_wal_replay_lsn() >= CAST(:p AS pg_lsn)", p=position,
    )[0])  # fmt: skip
    sql(replica.url("mapper"), "SELECT pg_wal_replay_pause()")
    yield primary, replica
    sql(replica.url("mapper"), "SELECT pg_wal_replay_resume()")


@pytest.fixture
def replicated_app():
    """Make apps on the primary with the replica; close all their connections afterwards."""
    made = []

    def build(primary, replica, **settings):
        settings = {"REPLICA_CHECK_SECONDS": 0, "REPLICA_MAX_LAG_SECONDS": 3600, **settings}
        app = make_app(
            primary.url("mapper"), DATABASE_REPLICA_URLS=replica.url("mapper"), **settings
        )
        made.append(app)
        return app

    yield build
    for app in made:
        app.extensions["mapper.replicas"].dispose()
        app.extensions["mapper.db"].dispose()


def admin_token(app):
    """The Authorization header of a new administrator's token."""
    with app.app_context():
        session = db.get_session()
        return make_token(session, make_user(session, f"{uuid.uuid4().hex}@x.test", role="admin"))


def first_group(url):
    return sql(url, "SELECT id FROM community_groups WHERE status = 'active' ORDER BY id")[0]


def name_of(client, group_id):
    response = client.get(f"/api/v1/groups/{group_id}")
    assert response.status_code == 200, response.data
    return response.json["properties"]["name"]


def test_reads_go_to_the_replica_and_a_writers_next_reads_to_the_primary(paused, replicated_app):
    primary, replica = paused
    app = replicated_app(primary, replica)
    group_id = first_group(primary.url("mapper"))
    headers = admin_token(app)
    before = sql(
        primary.url("mapper"), "SELECT name FROM community_groups WHERE id = :i", i=group_id
    )[0]

    writer, reader = app.test_client(), app.test_client()
    answer = writer.patch(
        f"/api/v1/groups/{group_id}", json={"name": "Renamed on the primary"}, headers=headers
    )
    assert answer.status_code == 200, answer.data
    assert "mapper_wrote=" in answer.headers["Set-Cookie"]

    assert name_of(reader, group_id) == before  # the replica, which has not replayed the write
    assert name_of(writer, group_id) == "Renamed on the primary"  # read-your-writes: the primary


def test_a_writers_reads_return_to_the_replica_once_it_has_replayed_the_write(
    clusters, replicated_app
):
    primary, replica = clusters
    app = replicated_app(primary, replica)
    group_id = first_group(primary.url("mapper"))
    headers = admin_token(app)
    writer = app.test_client()
    assert (
        writer.patch(
            f"/api/v1/groups/{group_id}", json={"name": "Second name"}, headers=headers
        ).status_code
        == 200
    )
    position = sql(primary.url("mapper"), "SELECT pg_current_wal_insert_lsn()::text")[0]
    wait_for(
        lambda: sql(
            replica.url("mapper"),
            "SELECT pg_last_wal_replay_lsn() >= CAST(:p AS pg_lsn)",
            p=position,
        )[0]
    )
    sql(replica.url("mapper"), "SELECT pg_wal_replay_pause()")
    try:
        # Changed on the primary behind the app's back: only the primary shows it.
        sql(
            primary.url("mapper"),
            "UPDATE community_groups SET name = 'Behind the back' WHERE id = :i",
            i=group_id,
        )
        assert name_of(writer, group_id) == "Second name"  # the replica, caught up with the write
    finally:
        sql(replica.url("mapper"), "SELECT pg_wal_replay_resume()")


def test_a_lagging_replica_is_skipped(paused, replicated_app):
    primary, replica = paused
    app = replicated_app(primary, replica, REPLICA_MAX_LAG_SECONDS=1)
    group_id = first_group(primary.url("mapper"))
    sql(
        primary.url("mapper"),
        "UPDATE community_groups SET name = 'Only on the primary' WHERE id = :i",
        i=group_id,
    )
    time.sleep(1.5)  # the replica has received the change but, paused, not replayed it
    assert name_of(app.test_client(), group_id) == "Only on the primary"


def test_signed_in_and_token_reads_go_to_the_primary(paused, replicated_app):
    primary, replica = paused
    app = replicated_app(primary, replica)
    group_id = first_group(primary.url("mapper"))
    headers = admin_token(app)
    sql(
        primary.url("mapper"),
        "UPDATE community_groups SET name = 'Fresh' WHERE id = :i",
        i=group_id,
    )
    response = app.test_client().get(f"/api/v1/groups/{group_id}", headers=headers)
    assert response.json["properties"]["name"] == "Fresh"
    assert name_of(app.test_client(), group_id) != "Fresh"


def test_reads_fail_over_to_the_primary_when_the_replica_is_down(clusters, replicated_app):
    primary, replica = clusters
    app = replicated_app(primary, replica)
    group_id = first_group(primary.url("mapper"))
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    replica.ctl("stop")
    try:
        sql(
            primary.url("mapper"),
            "UPDATE community_groups SET name = 'After the failure' WHERE id = :i",
            i=group_id,
        )
        assert name_of(client, group_id) == "After the failure"
        assert client.get("/").status_code == 200
    finally:
        replica.ctl("start")


def test_replicas_need_a_postgresql_primary(tmp_path):
    with pytest.raises(ValueError, match="DATABASE_REPLICA_URLS"):
        make_app(f"sqlite:///{tmp_path / 'x.sqlite'}", DATABASE_REPLICA_URLS="postgresql://h/db")
