"""Throughput and latency of the public reads under gunicorn, cached and not.

    .venv/bin/pip install '.[bench]'     # gunicorn
    .venv/bin/python benchmarks/http_reads.py [--backend postgis] [--wards 2000] [--groups 50000] \
        [--workers 3] [--concurrency 8] [--seconds 5] [--database URL]

Builds the synthetic country of benchmarks/gaps.py (or reuses --database), starts the
production server itself (`mapper serve --workers --threads`, on a free loopback port) and
loads it from this process with `--concurrency` clients at once:

- repeating reader: every request after the first sends the ETag it got (If-None-Match) and
  gets a 304, as a browser or proxy revalidating does;
- cached 200: the same requests without If-None-Match, answered from the workers' caches;
- cache miss: the data version is bumped (with no journal of what changed) before each single
  request, so the answer is computed afresh; the median of --miss-runs is the server time;
- miss after an edit: a real edit of a group (benchmarks/gaps.py `edit`: moved, closed or
  added, through the ORM as the web forms do) before each single request, so the worker brings
  its kept answer up to date from the journal (core/gap_updates.py) where it has one.

Prints req/s, p50 and p99 per endpoint and mode, the load average; the last line is JSON. The
load generator shares the machine's cores with gunicorn and the database, so the figures
are a floor of what the server does alone.
"""

# Not called http.py: in benchmarks/ that name would shadow the standard library's http
# module for every script there (pyproj and werkzeug import it).
import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import gaps as country  # noqa: I001 - the synthetic country of benchmarks/gaps.py (same folder)
import numpy as np
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from mapper.store import db
from mapper.store.models import CommunityGroup, Ward

BENCHMARKS = Path(__file__).resolve().parent

HERE = BENCHMARKS.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(args):
    """Return (url, cleanup, la_code, ward_code, bbox) of a database holding the country."""
    url, cleanup = country.database_url(args)
    engine = db.make_engine(url)
    db.upgrade_schema(engine)
    with Session(engine) as session:
        if session.scalar(select(func.count()).select_from(Ward)) == 0:
            country.build(session, args, np.random.default_rng(args.seed))
        la_code = session.scalar(
            select(Ward.la_code).group_by(Ward.la_code).order_by(Ward.la_code).limit(1)
        )
        ward_code = session.scalar(select(Ward.code).where(Ward.la_code == la_code).limit(1))
        lon, lat = session.execute(
            select(func.ST_X(CommunityGroup.geom), func.ST_Y(CommunityGroup.geom)).limit(1)
        ).one()
    if not db.is_spatialite(engine):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    bbox = f"{lon - 0.05:.4f},{lat - 0.03:.4f},{lon + 0.05:.4f},{lat + 0.03:.4f}"
    return url, cleanup, la_code, ward_code, bbox


def start_gunicorn(url, args):
    """Start the production server, `mapper serve` (gunicorn, its control socket off)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "benchmark-" + "x" * 40}
    command = [
        str(Path(sys.executable).parent / "mapper"),
        "serve",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "120",
    ]
    server = subprocess.Popen(
        command, env=env, cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            status, _, _ = request(port, "/healthz")
            if status == 200:
                return server, port
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("gunicorn did not answer /healthz within 120 s")


def request(port, path, headers=None, conn=None):
    """GET path; return (status, headers, body)."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, dict(response.getheaders()), body
    finally:
        if own:
            conn.close()


def load(port, path, seconds, concurrency, revalidate):
    """Hammer one path from `concurrency` clients at once; return figures."""
    status, headers, _ = request(port, path)
    if status != 200:
        raise SystemExit(f"{path} answered {status}")
    tag = headers.get("ETag")
    send = {"If-None-Match": tag} if revalidate and tag else {}
    expected = 304 if send else 200
    latencies, errors = [], []
    stop = time.perf_counter() + seconds

    def worker():
        # A connection per request: gunicorn's sync workers close each one anyway, and
        # reusing a half-closed one stalls on delayed ACKs.
        mine = []
        while time.perf_counter() < stop:
            started = time.perf_counter()
            status, _, _ = request(port, path, send)
            mine.append(time.perf_counter() - started)
            if status != expected:
                errors.append(status)
        latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "unexpected": len(errors),
        "status": expected,
    }


def misses(port, path, url, runs):
    """Median time of a request just after the data version changed (a cold answer), and
    just after a real edit (an answer brought up to date)."""
    engine = db.make_engine(url)
    rng = np.random.default_rng(runs)
    with Session(engine) as session:
        top = session.scalar(select(func.max(CommunityGroup.id)))
    figures = {}
    for name in ("miss", "edit_miss"):
        times, kept = [], []
        for run in range(runs):
            with Session(engine) as session:
                if name == "miss":
                    session.execute(text("UPDATE data_version SET version = version + 1"))
                else:
                    country.edit(session, rng, top, run)
                session.commit()
            started = time.perf_counter()
            status, headers, _ = request(port, path)
            times.append(time.perf_counter() - started)
            kept.append(headers.get("X-Cache"))
            if status != 200:
                raise SystemExit(f"{path} answered {status}")
        figures[f"{name}_ms_median"] = round(statistics.median(times) * 1000, 1)
        figures[f"{name}_ms_all"] = [round(t * 1000, 1) for t in times]
        figures[f"{name}_x_cache"] = sorted(set(map(str, kept)))
    engine.dispose()
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("spatialite", "postgis"), default="postgis")
    parser.add_argument("--database", help="a database URL to build in (or reuse)")
    parser.add_argument("--wards", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="a worker's (1: sync workers)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--miss-runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()
    args.services = args.groups // 20
    args.coordinators = round(args.wards * 2000 / 8400)

    url, cleanup, la_code, ward_code, bbox = prepare(args)
    paths = {
        "home": "/",
        "ward": f"/wards/{ward_code}",
        "gaps_la": f"/gaps.geojson?la={la_code}",
        "figures_la": f"/map/figures.json?la={la_code}",
        "api_bbox": f"/api/v1/groups?bbox={bbox}",
        "ogc_items": "/ogc/collections/groups/items?f=json&limit=100",
        "openreferral": "/openreferral/services",
    }
    server, port = start_gunicorn(url, args)
    results = {}
    load_before = os.getloadavg()
    try:
        for name, path in paths.items():
            figures = {"path": path}
            figures.update(misses(port, path, url, args.miss_runs))
            figures["revalidate_304"] = load(port, path, args.seconds, args.concurrency, True)
            figures["cached_200"] = load(port, path, args.seconds, args.concurrency, False)
            results[name] = figures
            r, c = figures["revalidate_304"], figures["cached_200"]
            print(
                f"{name:13} miss {figures['miss_ms_median']:7.1f} ms, after an edit "
                f"{figures['edit_miss_ms_median']:7.1f} ms | 304: {r['req_per_s']:7.1f}"
                f" req/s p50 {r['p50_ms']:6.1f} p99 {r['p99_ms']:6.1f} ms | 200 kept: "
                f"{c['req_per_s']:7.1f} req/s p50 {c['p50_ms']:6.1f} p99 {c['p99_ms']:6.1f} ms",
                flush=True,
            )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        cleanup()
    summary = {
        "backend": args.backend,
        "wards": args.wards,
        "groups": args.groups,
        "workers": args.workers,
        "threads": args.threads,
        "concurrency": args.concurrency,
        "seconds_per_mode": args.seconds,
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "endpoints": results,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
