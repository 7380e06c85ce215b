"""Time `mapper import-openreferral` of a feed served over local HTTP, on each backend.

    .venv/bin/python benchmarks/import_openreferral.py --services 2000 --wards 200 \
        [--backends spatialite,postgis] [--runs 3]

Builds the synthetic wards of benchmarks/gaps.py, serves a feed of `--services` services on
127.0.0.1 (pages of 100 holding one-to-one fields only, so that every service is fetched in
full from /services/{id}, as from most real feeds), and imports it through the `mapper`
command: the first import of each run into an empty services table, then a re-import of the
same feed (every service unchanged). Prints the medians of the runs and the load average;
the last line is JSON.
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
from sqlalchemy import delete, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gaps as country  # noqa: E402 - the synthetic country of benchmarks/gaps.py
from import_groups import build_wards  # noqa: E402

from mapper import create_app  # noqa: E402
from mapper.store import db  # noqa: E402
from mapper.store.models import AuditEvent, Category, Service, service_categories  # noqa: E402

PER_PAGE = 100  # what the importer asks for


def make_feed(n, towns, slugs, rng):
    """Return {id: full service} of n services located around the towns."""
    xy = country.sample_points(rng, n, towns)
    lo, hi = np.array(country.COUNTRY[:2]) + 0.01, np.array(country.COUNTRY[2:]) - 0.01
    xy = np.clip(xy, lo, hi)
    services = {}
    for i, (lon, lat) in enumerate(xy):
        service_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{i}"))
        services[service_id] = {
            "id": service_id,
            "name": f"Service {i}",
            "description": "A service of the benchmark feed.",
            "url": "https://service.example/",
            "email": "help@service.example",
            "status": "active",
            "organization": {"id": str(uuid.uuid4()), "name": f"Provider {i % 50}"},
            "schedules": [{"id": str(uuid.uuid4()), "description": "Mon-Fri 9-5"}],
            "service_at_locations": [
                {
                    "id": str(uuid.uuid4()),
                    "location": {
                        "id": str(uuid.uuid4()),
                        "location_type": "physical",
                        "name": f"Centre {i}",
                        "latitude": round(float(lat), 6),
                        "longitude": round(float(lon), 6),
                    },
                }
            ],
            "attributes": [{"id": str(uuid.uuid4()), "taxonomy_term": {"term": rng.choice(slugs)}}],
        }
    return services


def serve(services):
    """Serve the feed; return (server, its URL)."""
    ids = list(services)
    pages = max(1, -(-len(ids) // PER_PAGE))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            parts = urlsplit(self.path)
            if parts.path == "/services":
                number = int(parse_qs(parts.query).get("page", ["1"])[0])
                listed = ids[(number - 1) * PER_PAGE : number * PER_PAGE]
                keys = ("id", "name", "description", "url", "email", "status", "organization")
                body = {
                    "total_items": len(ids),
                    "total_pages": pages,
                    "page_number": number,
                    "size": len(listed),
                    "contents": [{k: services[i][k] for k in keys} for i in listed],
                }
            else:
                body = services.get(parts.path.rsplit("/", 1)[-1])
            data = json.dumps(body).encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def empty_services(engine):
    with engine.begin() as conn:
        conn.execute(delete(service_categories))
        conn.execute(delete(Service.__table__))
        conn.execute(delete(AuditEvent.__table__))


def timed(runner, url):
    start = time.perf_counter()
    result = runner.invoke(args=["import-openreferral", url, "--source", "bench"])
    seconds = time.perf_counter() - start
    if result.exit_code != 0:
        raise SystemExit(f"import failed:\n{result.output[-2000:]}")
    return seconds, result.output.strip().splitlines()[-1]


def measure(backend, args):
    args.backend, args.database = backend, None
    url, cleanup = country.database_url(args)
    server = None
    try:
        app = create_app({"DATABASE_URL": url, "CHECK_SECRET_KEY": False, "TESTING": True})
        engine = app.extensions["mapper.db"].engine
        db.upgrade_schema(engine)
        rng = np.random.default_rng(args.seed)
        towns = build_wards(engine, args.wards, rng)
        with engine.connect() as conn:
            slugs = conn.execute(select(Category.slug)).scalars().all()
        server, feed = serve(make_feed(args.services, towns, slugs, rng))
        runner = app.test_cli_runner()
        first, again, loads = [], [], []
        for run in range(args.runs):
            empty_services(engine)
            seconds, summary = timed(runner, feed)
            first.append(seconds)
            seconds, summary_again = timed(runner, feed)
            again.append(seconds)
            loads.append(os.getloadavg()[0])
            print(
                f"{backend}: run {run + 1}: {first[-1]:.1f} s ({summary}); "
                f"again {again[-1]:.1f} s ({summary_again})",
                file=sys.stderr,
            )
        app.extensions["mapper.db"].dispose()
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        cleanup()
    return {
        "backend": backend,
        "services": args.services,
        "wards": args.wards,
        "runs": args.runs,
        "first_seconds_median": round(statistics.median(first), 2),
        "again_seconds_median": round(statistics.median(again), 2),
        "services_per_s": round(args.services / statistics.median(first)),
        "load_average": [round(v, 2) for v in loads],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--wards", type=int, default=200)
    parser.add_argument("--backends", default="spatialite,postgis")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    results = []
    for backend in args.backends.split(","):
        figures = measure(backend, args)
        results.append(figures)
        print(
            f"{backend:10} {args.services} services: first import "
            f"{figures['first_seconds_median']:.1f} s ({figures['services_per_s']:,}/s), "
            f"re-import {figures['again_seconds_median']:.1f} s (medians of {args.runs}; "
            f"load {figures['load_average']})"
        )
    print(json.dumps({"results": results}))


if __name__ == "__main__":
    main()
