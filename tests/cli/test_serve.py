"""`mapper serve`: a real gunicorn on a free port, configured from the environment, with an
access log that names each request's id (JSON lines when LOG_FORMAT=json)."""

import gc
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import SECRET

MAPPER = Path(sys.executable).parent / "mapper"
pytestmark = pytest.mark.slow


def free_port():
    """Return a TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url, **headers):
    """GET `url`; return (status, headers, body) whatever the status."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@contextmanager
def gunicorn(database_url, tmp_path, *args, mapper=MAPPER, **settings):
    """Run `mapper serve` on a free port; yield (base URL, process); stop it afterwards.

    HOME is a fresh folder, so a control socket, if gunicorn made one, would show there.
    """
    port = free_port()
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "MAPPER_INSTANCE_PATH": str(tmp_path / "instance"),
        "SERVER_BIND": f"127.0.0.1:{port}",
        **settings,
    }
    out, err = (open(tmp_path / name, "w") for name in ("stdout", "stderr"))  # noqa: SIM115
    process = subprocess.Popen([mapper, "serve", *args], env=env, stdout=out, stderr=err)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "stderr").read_text()
            try:
                if get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
            time.sleep(0.2)
        yield base, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        out.close()
        err.close()


def test_serve_runs_gunicorn_with_the_configured_workers_and_json_access_log(app, tmp_path):
    url = app.config["DATABASE_URL"]
    settings = {"LOG_FORMAT": "json", "SERVER_WORKERS": "2", "SERVER_THREADS": "3"}
    with gunicorn(url, tmp_path, **settings) as (base, _process):
        status, headers, _ = get(f"{base}/healthz", **{"X-Request-ID": "probe-1"})
        assert (status, headers["X-Request-ID"], headers["Server"]) == (200, "probe-1", "gunicorn")
        status, headers, _ = get(f"{base}/wards/E05999999")
        assert status == 404
        made = headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", made)
        assert get(f"{base}/")[0] == 200
        time.sleep(0.5)  # let the access log reach its file
    access = [json.loads(line) for line in (tmp_path / "stdout").read_text().splitlines()]
    by_id = {entry["request_id"]: entry for entry in access}
    assert by_id["probe-1"]["path"] == "/healthz" and by_id["probe-1"]["status"] == 200
    assert (by_id[made]["path"], by_id[made]["status"]) == ("/wards/E05999999", 404)
    assert {"duration_ms", "bytes", "remote", "user_agent", "time"} <= set(by_id[made])
    server_log = [json.loads(line) for line in (tmp_path / "stderr").read_text().splitlines()]
    messages = [entry["message"] for entry in server_log]
    assert sum("Booting worker" in m for m in messages) == 2
    assert "Using worker: gthread" in messages
    assert not (tmp_path / "home" / ".gunicorn").exists()  # no control socket


def test_serve_options_override_the_settings_and_the_text_log_names_request_ids(app, tmp_path):
    url = app.config["DATABASE_URL"]
    with gunicorn(url, tmp_path, "--workers", "1", "--threads", "1") as (base, _process):
        get(f"{base}/healthz", **{"X-Request-ID": "text-probe"})
        time.sleep(0.5)
    assert '"GET /healthz HTTP/1.1" 200' in (tmp_path / "stdout").read_text()
    assert "request_id=text-probe" in (tmp_path / "stdout").read_text()
    server_log = (tmp_path / "stderr").read_text()
    assert server_log.count("Booting worker") == 1 and "Using worker: sync" in server_log


def test_serve_refuses_the_placeholder_secret_key(tmp_path):
    env = {**os.environ, "SECRET_KEY": "change-me", "MAPPER_INSTANCE_PATH": str(tmp_path)}
    done = subprocess.run([MAPPER, "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "SECRET_KEY" in done.stderr


def test_a_worker_keeps_its_app_out_of_the_garbage_collectors_sight(monkeypatch, tmp_path):
    from mapper.cli.serve import Server

    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv("MAPPER_INSTANCE_PATH", str(tmp_path / "instance"))
    server = Server.__new__(Server)  # only its load(), as a worker calls it after the fork
    before = gc.get_freeze_count()
    try:
        app = server.load()
        assert app.name == "mapper"
        assert gc.get_freeze_count() > before + 10_000  # the modules and the app's objects
    finally:
        gc.unfreeze()
