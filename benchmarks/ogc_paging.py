"""Paging a whole OGC collection: our groups beside pygeoapi over the same PostGIS table.

    .venv/bin/pip install '.[bench]'     # gunicorn
    .venv/bin/python benchmarks/ogc_paging.py [--groups 100000] [--runs 5] [--limit 1000] \
        [--workers 2] [--pygeoapi] [--pygeoapi-venv DIR]

A fresh PostGIS database with the demo borough's wards and N active groups (benchmarks/ogc.py
stores them). Our app is served by gunicorn (`--no-control-socket`, `--workers`, a free
loopback port); one client pages the whole /ogc/collections/groups/items with `limit`,
following each answer's `next` link until there is none, and the features per second of the
whole walk are timed. The data version is bumped before each walk (as any write does), so
every page is computed afresh, never served from the workers' caches. Neither side is asked
for gzip.

With `--pygeoapi`, pygeoapi is installed from PyPI into a virtualenv under a temporary folder
(or `--pygeoapi-venv`, kept and reused), given a config with its PostgreSQL provider over the
same `community_groups` table (the public columns: id, name, description, kind, address,
postcode, website, contact_public, meeting_times, charity_number, status, last_verified,
location_precision) and served by gunicorn the same way; its collection is paged the same
way in the same run, walks alternating with ours. Nothing is installed without the flag.

Prints the medians of `runs` walks per service, their ratio and the load average; the last
line is JSON. The client shares the machine's cores with both servers and the database.
"""

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import urlsplit

import http_reads  # noqa: I001 - gunicorn and the client of benchmarks/http_reads.py
import ogc as bbox_benchmark  # the groups of benchmarks/ogc.py
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from mapper.store import db, queries

# The public columns of community_groups that pygeoapi publishes (its own flat reading).
PYGEOAPI_PROPERTIES = [c for c in queries.PUBLIC_GROUP_COLUMNS if c != "id"]


def walk(port, path):
    """Page from `path` to the last page by `next` links; return (features, pages, seconds)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    features = pages = 0
    started = time.perf_counter()
    try:
        while path:
            conn.request("GET", path, headers={"Accept": "application/geo+json"})
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise SystemExit(f"{path} answered {response.status}: {body[:300]!r}")
            page = json.loads(body)
            features += len(page["features"])
            pages += 1
            following = [link["href"] for link in page.get("links", []) if link["rel"] == "next"]
            path = None
            if following and page["features"]:
                parts = urlsplit(following[0])
                path = parts.path + (f"?{parts.query}" if parts.query else "")
    finally:
        conn.close()
    return features, pages, time.perf_counter() - started


def bump_version(url):
    """Add one to the data version, as any write does: the next answers are computed afresh."""
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE data_version SET version = version + 1 WHERE id = 1"))
    engine.dispose()


def install_pygeoapi(folder):
    """Return the python of a virtualenv in `folder` holding pygeoapi and gunicorn."""
    python = Path(folder) / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    packages = ["pygeoapi", "psycopg2-binary", "geoalchemy2", "gunicorn"]
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *packages],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return python


def pygeoapi_config(url, port, limit, folder):
    """Write pygeoapi's config (the PostgreSQL provider over community_groups) and its
    OpenAPI document into `folder`; return their paths."""
    database = make_url(url)
    properties = "\n".join(f"              - {p}" for p in PYGEOAPI_PROPERTIES)
    config = textwrap.dedent(
        f"""\
        server:
          bind: {{host: 127.0.0.1, port: {port}}}
          url: http://127.0.0.1:{port}
          mimetype: application/json; charset=UTF-8
          encoding: utf-8
          gzip: false
          languages: [en-US]
          cors: false
          pretty_print: false
          limits: {{default_items: {limit}, max_items: 10000}}
          map: {{url: "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png", attribution: ""}}
        logging: {{level: ERROR}}
        metadata:
          identification:
            title: benchmark
            description: benchmark
            keywords: [benchmark]
            keywords_type: theme
            terms_of_service: https://example.org
            url: https://example.org
          license: {{name: CC-BY 4.0, url: https://creativecommons.org/licenses/by/4.0/}}
          provider: {{name: benchmark, url: https://example.org}}
          contact: {{name: benchmark, email: nobody@example.org, url: https://example.org,
                     role: pointOfContact}}
        resources:
          groups:
            type: collection
            title: Community groups
            description: The same table as Community Mapper's groups
            keywords: [groups]
            links: []
            extents:
              spatial:
                bbox: [-180, -90, 180, 90]
                crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84
            providers:
              - type: feature
                name: PostgreSQL
                data:
                  host: {database.host}
                  port: {database.port or 5432}
                  dbname: {database.database}
                  user: {database.username}
                  password: "{database.password or ""}"
                  search_path: [public]
                id_field: id
                table: community_groups
                geom_field: geom
                properties:
        """
    )
    config += properties + "\n"
    config_path, openapi_path = Path(folder) / "pygeoapi.yml", Path(folder) / "openapi.yml"
    config_path.write_text(config)
    return config_path, openapi_path


def start_pygeoapi(python, url, limit, workers, folder):
    """Serve pygeoapi with gunicorn on a free port; return (process, port)."""
    port = http_reads.free_port()
    config_path, openapi_path = pygeoapi_config(url, port, limit, folder)
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config_path), "PYGEOAPI_OPENAPI": str(openapi_path)}
    bin_folder = Path(python).parent
    subprocess.run(
        [str(bin_folder / "pygeoapi"), "openapi", "generate", str(config_path)],
        env=env,
        check=True,
        stdout=openapi_path.open("w"),
        stderr=subprocess.DEVNULL,
    )
    command = [
        str(bin_folder / "gunicorn"),
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "300",
        "pygeoapi.flask_app:APP",
    ]
    if (
        "--no-control-socket"
        in subprocess.run([command[0], "--help"], capture_output=True, text=True).stdout
    ):
        command.insert(1, "--no-control-socket")
    server = subprocess.Popen(command, env=env, cwd=folder, stderr=subprocess.DEVNULL)
    wait_for(server, port, "/collections/groups")
    return server, port


def wait_for(server, port, path):
    """Wait until the server answers `path` with a 200 (two minutes at most)."""
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if http_reads.request(port, path)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    server.terminate()
    raise SystemExit(f"the server on port {port} did not answer {path} within 120 s")


def stop(server):
    """Stop a server this benchmark started."""
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)


def figures(walks):
    """Return the median features per second of several walks, and each walk's."""
    rates = [features / seconds for features, _, seconds in walks]
    return {
        "features": walks[0][0],
        "pages": walks[0][1],
        "features_per_s": round(statistics.median(rates)),
        "features_per_s_all": [round(r) for r in rates],
        "walk_s_median": round(statistics.median(s for _, _, s in walks), 2),
    }


def measure(url, args, pygeoapi_python, folder):
    """Store the groups, serve both, walk them alternately; return the figures."""
    app = bbox_benchmark.make_app(url)
    db.upgrade_schema(app.extensions["mapper.db"].engine)
    with app.app_context():
        bbox_benchmark.load(db.get_session(), args.groups)
    app.extensions["mapper.db"].dispose()
    engine = create_engine(db.normalise_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()

    servers = {"mapper": http_reads.start_gunicorn(url, args)}
    paths = {"mapper": f"/ogc/collections/groups/items?f=json&limit={args.limit}"}
    if pygeoapi_python:
        servers["pygeoapi"] = start_pygeoapi(pygeoapi_python, url, args.limit, args.workers, folder)
        paths["pygeoapi"] = f"/collections/groups/items?f=json&limit={args.limit}"
    walks = {name: [] for name in servers}
    load_before = os.getloadavg()
    try:
        for name, (_, port) in servers.items():  # warm up: imports, connections, plans
            for _ in range(args.workers * 2):
                http_reads.request(port, paths[name])
        for run in range(args.runs):
            for name, (_, port) in servers.items():
                if name == "mapper":
                    bump_version(url)
                walks[name].append(walk(port, paths[name]))
                f, p, s = walks[name][-1]
                print(f"  run {run + 1} {name}: {f:,} features in {p} pages, {s:.2f} s", flush=True)
    finally:
        for server, _ in servers.values():
            stop(server)
    results = {name: figures(w) for name, w in walks.items()}
    results["load_average_before"] = [round(v, 2) for v in load_before]
    results["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pygeoapi", action="store_true", help="install and page pygeoapi too")
    parser.add_argument("--pygeoapi-venv", help="a virtualenv for pygeoapi to make or reuse")
    parser.add_argument("--postgres", default=bbox_benchmark.POSTGRES_ADMIN_URL)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ogc-paging-") as folder:
        python = None
        if args.pygeoapi:
            print("installing pygeoapi", file=sys.stderr, flush=True)
            python = install_pygeoapi(args.pygeoapi_venv or Path(folder) / "venv")

        def work(url):
            return measure(url, args, python, folder)

        results = bbox_benchmark.with_postgis(args.postgres, work)
    ours = results["mapper"]
    line = f"postgis, {args.groups:,} groups, limit {args.limit}: ours {ours['features_per_s']:,}/s"
    summary = {
        "benchmark": "ogc_whole_collection_paging",
        "groups": args.groups,
        "limit": args.limit,
        "runs": args.runs,
        "workers": args.workers,
        **results,
    }
    if "pygeoapi" in results:
        theirs = results["pygeoapi"]
        summary["ratio"] = round(ours["features_per_s"] / theirs["features_per_s"], 2)
        line += f", pygeoapi {theirs['features_per_s']:,}/s ({summary['ratio']}×)"
    load = results["load_average_before"], results["load_average_after"]
    print(f"{line} (medians of {args.runs} walks; load average {load[0]} → {load[1]})")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
