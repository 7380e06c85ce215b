"""Time the home page from navigation to fully drawn, in headless Chromium.

    python benchmarks/map_render.py [--wards 30] [--groups 5000] [--runs 7] [--backend spatialite]
    python benchmarks/map_render.py --national [--wards 8400] [--groups 200000] [--runs 5]

Builds a synthetic local authority (wards with detailed, coverage-valid boundaries, groups,
services, coordinators) in a fresh database, serves the app on 127.0.0.1, and loads `/` in a
new browser context each run (a first visit: nothing cached in the browser) until the page's
script marks the map loaded: wards coloured, groups clustered, table filled. Prints the times
and the sizes of the page and its data; the last line is JSON. Target: median within 2 s.

With --national the country is benchmarks/gaps.py's synthetic one (8,400 Voronoi wards, groups
clustered around towns) and each run also counts the bytes of the map's data for the first
view as sent (compressed when the server compressed them: Resource Timing's
encodedBodySize) and times a pan (half the map's width) until it is redrawn. Targets: drawn
under 2 s, its data under 2 MB on the wire, a pan under 0.5 s.
"""

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, box
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mapper import create_app  # noqa: E402
from mapper.core.wards import save_wards
from mapper.store import db
from mapper.store.models import Category, CommunityGroup, Coordinator, Service  # noqa: E402

CHROMIUM = os.environ.get("MAPPER_TEST_CHROMIUM", "/usr/bin/chromium")
POSTGRES_ADMIN_URL = os.environ.get(
    "MAPPER_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
AUTHORITY = box(-2.40, 53.38, -2.25, 53.48)  # about 10 km by 11 km
KINDS = ["charity", "cic", "faith group", "mutual aid", "informal group", "community association"]


def detailed_wards(count, rng):
    """Voronoi wards whose shared edges wiggle like real ones (about 800 vertices each)."""
    seeds = shapely.points(
        rng.uniform(AUTHORITY.bounds[0], AUTHORITY.bounds[2], count),
        rng.uniform(AUTHORITY.bounds[1], AUTHORITY.bounds[3], count),
    )
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=AUTHORITY)
    cells = [c.intersection(AUTHORITY) for c in cells.geoms]
    # Each shared edge once, so that both neighbours get exactly the same wiggles.
    edges = shapely.line_merge(shapely.union_all(shapely.boundary(cells)))

    def wiggle(xy):
        # The same displacement for the same vertex, so neighbours still share their edges.
        minx, miny, maxx, maxy = AUTHORITY.bounds
        edge = np.minimum.reduce(
            [xy[:, 0] - minx, maxx - xy[:, 0], xy[:, 1] - miny, maxy - xy[:, 1]]
        )
        fade = np.clip(edge / 0.001, 0, 1)  # the authority's own boundary stays straight
        dx = 0.0001 * np.sin(xy[:, 1] * 2500) * fade
        dy = 0.0001 * np.cos(xy[:, 0] * 2500) * fade
        return xy + np.column_stack([dx, dy])

    edges = shapely.transform(shapely.segmentize(edges, 0.0001), wiggle)
    return [MultiPolygon([p]) for p in shapely.get_parts(shapely.polygonize([edges]))]


def build(session, wards, groups, services, rng):
    import geopandas as gpd

    geoms = detailed_wards(wards, rng)
    frame = gpd.GeoDataFrame(
        {
            "code": [f"E05{900000 + i:06d}" for i in range(wards)],
            "name": [f"Ward {i + 1}" for i in range(wards)],
            "la_code": "E08999999",
            "la_name": "Benchmarkshire",
            "vintage": "2024",
            "population": rng.integers(5_000, 20_000, wards),
            "imd_decile": rng.integers(1, 11, wards),
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
    save_wards(session, frame)
    session.commit()
    categories = list(session.query(Category).order_by(Category.slug))
    n = len(categories)
    # Uneven: half of the groups crowd into a few places.
    centres = rng.uniform(AUTHORITY.bounds[:2], AUTHORITY.bounds[2:], (4, 2))
    crowded = centres[rng.integers(0, 4, groups // 2)] + rng.normal(0, 0.006, (groups // 2, 2))
    spread = rng.uniform(AUTHORITY.bounds[:2], AUTHORITY.bounds[2:], (groups - groups // 2, 2))
    lonlats = np.clip(np.vstack([crowded, spread]), AUTHORITY.bounds[:2], AUTHORITY.bounds[2:])
    session.add_all(
        CommunityGroup(
            name=f"Group {i} of the benchmark",
            kind=KINDS[i % len(KINDS)],
            status="active",
            geom=db.to_wkb_element(shapely.Point(lon, lat)),
            categories=list({categories[i % n], categories[(i * 7 + 3) % n]}),
            last_verified=date(2026, 1, 1),
            active_from=date(2020, 1, 1),
        )
        for i, (lon, lat) in enumerate(lonlats)
    )
    session.add_all(
        Service(
            name=f"Service {i}",
            geom=db.to_wkb_element(
                shapely.Point(*rng.uniform(AUTHORITY.bounds[:2], AUTHORITY.bounds[2:]))
            ),
        )
        for i in range(services)
    )
    minx, miny, maxx, maxy = AUTHORITY.bounds
    for i, patch in enumerate(
        [
            box(minx, miny, (minx + maxx) / 2, (miny + maxy) / 2),
            box((minx + maxx) / 2, (miny + maxy) / 2, maxx, maxy),
        ]
    ):
        session.add(
            Coordinator(name=f"Coordinator {i}", patch=db.to_wkb_element(MultiPolygon([patch])))
        )
    session.commit()


def database(backend, folder):
    """Return (URL, clean-up) of a fresh database at the latest schema."""
    if backend == "spatialite":
        url = f"sqlite:///{folder}/mapper.sqlite"
        engine = db.make_engine(url)
        db.upgrade_schema(engine)
        engine.dispose()
        return url, lambda: None
    admin = create_engine(db.normalise_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    name = f"mapper_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = db.normalise_url(POSTGRES_ADMIN_URL).set(database=name)
    engine = db.make_engine(url)
    db.upgrade_schema(engine)
    engine.dispose()

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wards", type=int, default=30)
    parser.add_argument("--groups", type=int, default=5000)
    parser.add_argument("--services", type=int, default=300)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--backend", choices=["spatialite", "postgis"], default="spatialite")
    parser.add_argument("--national", action="store_true", help="the synthetic country")
    args = parser.parse_args()
    if args.national:
        return national(args)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        url, drop = database(args.backend, folder)
        try:
            app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "benchmark"})
            with app.app_context():
                build(
                    db.get_session(),
                    args.wards,
                    args.groups,
                    args.services,
                    np.random.default_rng(7),
                )
            # Give the planner statistics, as autovacuum soon would after a bulk load: without
            # them PostGIS plans the gap analysis badly (0.5 s instead of 0.04 s here).
            with app.extensions["mapper.db"].engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
            client = app.test_client()
            sizes = {
                path: len(client.get(path).get_data())
                for path in ("/", "/map/wards.geojson", "/map/groups.json", "/map/figures.json")
            }
            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
            server = make_server("127.0.0.1", 0, app, threaded=True)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            base = f"http://127.0.0.1:{server.server_port}"
            times = []
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
                )
                for run in range(args.runs):
                    context = browser.new_context(viewport={"width": 1280, "height": 900})
                    page = context.new_page()
                    start = time.perf_counter()
                    page.goto(base + "/")
                    page.wait_for_selector(".folium-map[data-loaded=true]", timeout=60_000)
                    times.append(time.perf_counter() - start)
                    drawn = page.locator("path.leaflet-interactive").count()
                    clusters = page.locator(".marker-cluster").count()
                    wire, _decoded, slowest = page.evaluate(DATA_BYTES)
                    print(
                        f"run {run + 1}: {times[-1]:.3f} s ({drawn} paths, {clusters} clusters;"
                        f" {wire / 1e3:.0f} KB of data on the wire, the last answer"
                        f" {slowest:.0f} ms after navigation)"
                    )
                    context.close()
                browser.close()
            server.shutdown()
            app.extensions["mapper.db"].dispose()
        finally:
            drop()
    for path, size in sizes.items():
        print(f"{path}: {size / 1024:.1f} KB")
    median = statistics.median(times)
    print(
        f"median of {args.runs} runs: {median:.3f} s (target 2 s); "
        f"home page HTML {sizes['/']:,} bytes"
    )
    print(
        json.dumps(
            {
                "backend": args.backend,
                "wards": args.wards,
                "groups": args.groups,
                "runs_s": [round(t, 3) for t in times],
                "median_s": round(median, 3),
                "first_s": round(times[0], 3),
                "html_bytes": sizes["/"],
                "data_bytes": {k: v for k, v in sizes.items() if k != "/"},
                "target_s": 2.0,
            }
        )
    )


# The bytes of the map's data answers as sent (Resource Timing's encodedBodySize: compressed
# when the server compressed them), as decoded, and when the last of them had arrived.
DATA_BYTES = """() => {
  const data = performance.getEntriesByType("resource").filter(e => e.name.includes("/map/"));
  return [data.reduce((n, e) => n + e.encodedBodySize, 0),
          data.reduce((n, e) => n + e.decodedBodySize, 0),
          Math.max(0, ...data.map(e => e.responseEnd))];
}"""
# Pan by half the map's width; resolve to the milliseconds until the view is drawn again
# (the script marks the map not loaded at once on `moveend`, loaded when all is drawn).
PAN = """() => new Promise(resolve => {
  const node = document.querySelector(".folium-map");
  let started = false;
  const start = performance.now();
  new MutationObserver((records, observer) => {
    const loaded = node.getAttribute("data-loaded");
    if (loaded === "false") started = true;
    else if (loaded === "true" && started) {
      observer.disconnect();
      resolve(performance.now() - start);
    }
  }).observe(node, { attributes: true, attributeFilter: ["data-loaded"] });
  Object.keys(window).filter(k => k.startsWith("map_"))
    .forEach(k => window[k].panBy([640, 0], { animate: false }));
})"""


def national(args):
    """Time the home map over benchmarks/gaps.py's synthetic country: drawn, bytes, pan."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import gaps as country  # noqa: PLC0415 - the synthetic country of benchmarks/gaps.py
    from playwright.sync_api import sync_playwright

    wards = args.wards if args.wards != 30 else 8400
    groups = args.groups if args.groups != 5000 else 200_000
    runs = {"drawn_s": [], "data_bytes": [], "pan_s": [], "clusters": []}
    with tempfile.TemporaryDirectory() as folder:
        url, drop = database(args.backend, folder)
        try:
            app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "benchmark"})
            with app.app_context():
                session = db.get_session()
                built = country.parse_args(["--wards", str(wards), "--groups", str(groups)])
                country.build(session, built, np.random.default_rng(built.seed))
                session.commit()
            with app.extensions["mapper.db"].engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
            logging.getLogger("werkzeug").setLevel(logging.ERROR)
            server = make_server("127.0.0.1", 0, app, threaded=True)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            base = f"http://127.0.0.1:{server.server_port}"
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
                )
                for run in range(args.runs + 1):  # the first run fills the server's caches
                    context = browser.new_context(viewport={"width": 1280, "height": 900})
                    page = context.new_page()
                    start = time.perf_counter()
                    page.goto(base + "/")
                    # The warm-up computes the national analysis: minutes on a busy machine.
                    wait = 120_000 if run else 900_000
                    page.wait_for_selector(".folium-map[data-loaded=true]", timeout=wait)
                    drawn = time.perf_counter() - start
                    wire, decoded, slowest = page.evaluate(DATA_BYTES)
                    clusters = page.locator(".server-cluster").count()
                    pan = page.evaluate(PAN) / 1000
                    context.close()
                    print(
                        f"run {run}: drawn {drawn:.3f} s, {wire / 1e6:.2f} MB of data on the wire"
                        f" ({decoded / 1e6:.2f} MB decoded; last answer {slowest:.0f} ms after"
                        f" navigation), {clusters} clusters, pan {pan:.3f} s"
                        + (" (warm-up)" if not run else "")
                    )
                    if run:
                        for key, value in zip(runs, (drawn, wire, pan, clusters), strict=True):
                            runs[key].append(value)
                browser.close()
            server.shutdown()
            app.extensions["mapper.db"].dispose()
        finally:
            drop()
    medians = {key: statistics.median(values) for key, values in runs.items()}
    print(
        f"{args.backend}, {wards} wards, {groups} groups: median drawn {medians['drawn_s']:.3f} s"
        f" (target 2 s), data {medians['data_bytes'] / 1e6:.2f} MB (target 2 MB), pan "
        f"{medians['pan_s']:.3f} s (target 0.5 s); load average {os.getloadavg()}"
    )
    print(json.dumps({"backend": args.backend, "wards": wards, "groups": groups, **medians}))


if __name__ == "__main__":
    main()
