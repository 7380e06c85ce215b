"""How fast is a page of OGC API items inside a bbox, with a million groups stored?

    .venv/bin/python benchmarks/ogc.py [--groups 1000000] [--runs 7] [--backends spatialite,postgis]

For each backend: a fresh database with the demo borough's 20 wards, N active groups at
random points over them (bulk insert; wards derived by core.wards.locate_wards, the same rule
as on flush) with one or two categories each. Then it times, through the app, the first page
of `limit` items of /ogc/collections/groups/items inside a bbox holding a few per cent of
the groups (numberMatched included), the second page (its `next` link) and the first page
in British National Grid (`crs=…/EPSG/0/27700`). Prints the median
of several runs per backend; the last line is JSON. Target: under 0.2 s.
"""

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy import create_engine, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mapper import create_app  # noqa: E402
from mapper.api import ogc_crs
from mapper.core.wards import locate_wards, save_wards
from mapper.io import located, reading
from mapper.store import db
from mapper.store.models import Category, CommunityGroup, group_categories  # noqa: E402

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHUNK = 50_000
TARGET_S = 0.2
BNG = "http://www.opengis.net/def/crs/EPSG/0/27700"


def load(session, count, seed=7):
    """Store the demo wards and `count` active groups; return the groups' bounds."""
    wards = reading.read_frame(located.DEMO_FOLDER / "wards.geojson").rename(
        columns={"ward_code": "code", "ward_name": "name"}
    )
    with db.transaction(session):
        save_wards(session, wards)
    category_ids = list(session.scalars(select(Category.id).order_by(Category.id)))
    n = len(category_ids)
    bounds = tuple(float(v) for v in wards.total_bounds)
    rng = np.random.default_rng(seed)
    table, links = CommunityGroup.__table__, group_categories
    now = datetime.now(UTC)
    next_id = 1
    for start in range(0, count, CHUNK):
        size = min(CHUNK, count - start)
        lon = rng.uniform(bounds[0], bounds[2], size).round(6)
        lat = rng.uniform(bounds[1], bounds[3], size).round(6)
        ward_ids = locate_wards(session, shapely.points(lon, lat))
        rows = [
            {
                "id": next_id + i,
                "name": f"Benchmark group {next_id + i}",
                "description": "A group stored by benchmarks/ogc.py.",
                "status": "active",
                "geom": f"SRID=4326;POINT({x} {y})",
                "ward_id": ward_id,
                "created_at": now,
                "updated_at": now,
            }
            for i, (x, y, ward_id) in enumerate(zip(lon, lat, ward_ids, strict=True))
        ]
        pairs = [
            {"group_id": row["id"], "category_id": category_ids[(row["id"] + 5 * k) % n]}
            for row in rows
            for k in ((0,) if row["id"] % 2 else (0, 1))
        ]
        with db.transaction(session):
            session.execute(insert(table), rows)
            session.execute(insert(links), pairs)
        next_id += size
        print(f"  stored {next_id - 1:,} groups", file=sys.stderr, flush=True)
    session.execute(text("ANALYZE"))
    session.commit()
    return bounds


def timed(client, url, runs):
    """Return (median seconds, fastest seconds, answer) of `runs` requests after a warm-up."""
    client.get(url)  # warm up: caches, prepared plans, imports
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return statistics.median(times), min(times), response.get_json(force=True)


def make_app(url):
    return create_app({"TESTING": True, "SECRET_KEY": "benchmark", "DATABASE_URL": url})


def measure(url, count, runs, limit):
    app = make_app(url)
    db.upgrade_schema(app.extensions["mapper.db"].engine)
    started = time.perf_counter()
    with app.app_context():
        bounds = load(db.get_session(), count)
    load_s = time.perf_counter() - started
    # Time a freshly started app, as a server would be: closing every connection also lets
    # SQLite fold its write-ahead log back into the database file.
    app.extensions["mapper.db"].dispose()
    app = make_app(url)
    database = app.extensions["mapper.db"]
    # A box of about 1/40 of the area, in the middle of the borough.
    min_lon, min_lat, max_lon, max_lat = bounds
    width, height = (max_lon - min_lon) / 6.3, (max_lat - min_lat) / 6.3
    mid_lon, mid_lat = (min_lon + max_lon) / 2, (min_lat + max_lat) / 2
    bbox = f"{mid_lon:.5f},{mid_lat:.5f},{mid_lon + width:.5f},{mid_lat + height:.5f}"
    client = app.test_client()
    page_url = f"/ogc/collections/groups/items?bbox={bbox}&limit={limit}"
    first_s, first_min_s, first = timed(client, page_url, runs)
    assert first["numberReturned"] == limit, "the bbox holds too few groups for a full page"
    following = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second_s, _, second = timed(client, following.removeprefix("http://localhost"), runs)
    assert second["numberReturned"] == limit
    # The same page with its features in British National Grid (Part 2 `crs`), and the
    # transform alone (the answers above may be kept ones, served from the cache).
    bng_s, _, bng = timed(client, f"{page_url}&crs={BNG}", runs)
    assert bng["numberReturned"] == limit
    transform_times = []
    for _ in range(runs):
        features = copy.deepcopy(first["features"])
        start = time.perf_counter()
        ogc_crs.reproject(features, BNG)
        transform_times.append(time.perf_counter() - start)
    database.dispose()
    return {
        "load_s": round(load_s, 1),
        "first_page_s": round(first_s, 4),
        "first_page_min_s": round(first_min_s, 4),
        "second_page_s": round(second_s, 4),
        "first_page_bng_s": round(bng_s, 4),
        "bng_transform_s": round(statistics.median(transform_times), 4),
        "number_matched": first["numberMatched"],
        "bbox": bbox,
    }


def with_postgis(admin_url, work):
    admin = create_engine(db.normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"mapper_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = db.normalise_url(admin_url).set(database=name)
        return work(url.render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--backends", default="spatialite,postgis")
    parser.add_argument("--postgres", default=POSTGRES_ADMIN_URL, help="admin URL for PostGIS")
    args = parser.parse_args()

    results = {}
    for backend in args.backends.split(","):
        print(f"{backend}: storing {args.groups:,} groups", file=sys.stderr, flush=True)

        def work(url, backend=backend):
            return measure(url, args.groups, args.runs, args.limit)

        if backend == "spatialite":
            with tempfile.TemporaryDirectory() as folder:
                results[backend] = work(f"sqlite:///{folder}/bench.sqlite")
        else:
            results[backend] = with_postgis(args.postgres, work)
        r = results[backend]
        print(
            f"{backend}: {args.groups:,} groups stored in {r['load_s']} s; page of "
            f"{args.limit} in bbox ({r['number_matched']:,} matched): first "
            f"{r['first_page_s']:.3f} s (fastest {r['first_page_min_s']:.3f} s), second "
            f"{r['second_page_s']:.3f} s, first in EPSG:27700 {r['first_page_bng_s']:.3f} s "
            f"(its transform {r['bng_transform_s']:.4f} s) (medians of {args.runs})"
        )
    worst = max(r["first_page_s"] for r in results.values())
    summary = {
        "benchmark": "ogc_items_bbox_page",
        "groups": args.groups,
        "limit": args.limit,
        "runs": args.runs,
        "target_s": TARGET_S,
        "met": worst < TARGET_S,
        **{f"{b}_{k}": v for b, r in results.items() for k, v in r.items() if k != "bbox"},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
