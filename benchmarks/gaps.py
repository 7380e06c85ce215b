"""Time the gap analysis at national scale against a bare geopandas spatial join.

    .venv/bin/python benchmarks/gaps.py --wards 8400 --groups 1000000 --backend spatialite

Builds a synthetic country (Voronoi wards of about 66 vertices, like ONS generalised
boundaries; local authorities of 30 neighbouring wards; groups, services and coordinators
clustered around towns) with bulk inserts, the ward of every group and service derived by the
project's rule (core.wards.locate_wards). Then times, several times each, `compute_gaps` for
all wards and for one local authority, and the baseline: a geopandas `sjoin` of the same
group points into the same ward polygons followed by a count per ward, on data already in
memory. Then the same analyses as the server answers them just after a write (`after_write_*`:
a new data version with no journal of what changed, so the answer is computed afresh, but the
grids of wards without postcodes kept, as they depend on boundaries only): national, and with a
category, a kind and an as_of filter, each with its ratio to the sjoin and to the GROUP BY. And
just after an edit (`after_edit_*`): a group moved, closed or added through the ORM as the web
forms do, which the journal records, so the kept answer is brought up to date
(core/gap_updates.py). And as another process answers (`kept_national_s`): a worker
just started, or another instance, whose own cache is empty, reads the national answer one
process computed and kept in the database (store/kept.py). Prints medians; the last line is
JSON.

The database is a temporary SpatiaLite file or a temporary PostGIS database (dropped at the
end) unless --database names one; a database that already holds the data is reused.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from geoalchemy2 import WKBElement
from shapely.geometry import box
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.orm import Session

from mapper import create_app, geo
from mapper.core import analysis
from mapper.core.wards import locate_wards, update_coordinator_coverage
from mapper.store import db, version
from mapper.store.models import (
    Category,
    CommunityGroup,
    Coordinator,
    Service,
    Ward,
    group_categories,
    group_wards_served,
    service_categories,
)

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
COUNTRY = (-5.5, 50.0, 1.5, 55.5)  # min_lon, min_lat, max_lon, max_lat
TODAY = date(2026, 11, 1)
KINDS = ["charity", "cic", "faith group", "mutual aid", "informal group", "sports club"]
LA_SIZE = 30
CHUNK = 50_000


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wards", type=int, default=8400)
    parser.add_argument("--groups", type=int, default=1_000_000)
    parser.add_argument("--services", type=int, help="default: 5%% of --groups")
    parser.add_argument("--coordinators", type=int, help="default: --wards × 2000/8400")
    parser.add_argument("--backend", choices=("spatialite", "postgis"), default="spatialite")
    parser.add_argument("--database", help="a database URL to build in (or reuse)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args(argv)
    args.services = args.services if args.services is not None else args.groups // 20
    if args.coordinators is None:
        args.coordinators = round(args.wards * 2000 / 8400)
    return args


def log(message):
    print(message, file=sys.stderr, flush=True)


def sample_points(rng, n, towns, share_in_towns=0.7):
    """Return n lon/lat pairs: most around towns, the rest spread over the country."""
    in_towns = int(n * share_in_towns)
    centres = towns[rng.integers(0, len(towns), in_towns)]
    spread = rng.normal(0, 1, (in_towns, 2)) * centres[:, 2:]
    xy = np.vstack(
        [
            centres[:, :2] + spread,
            np.column_stack(
                [
                    rng.uniform(COUNTRY[0], COUNTRY[2], n - in_towns),
                    rng.uniform(COUNTRY[1], COUNTRY[3], n - in_towns),
                ]
            ),
        ]
    )
    xy[:, 0] = np.clip(xy[:, 0], COUNTRY[0] + 1e-6, COUNTRY[2] - 1e-6)
    xy[:, 1] = np.clip(xy[:, 1], COUNTRY[1] + 1e-6, COUNTRY[3] - 1e-6)
    return rng.permutation(xy)


def make_towns(rng, count=120):
    """Return rows (lon, lat, spread_lon, spread_lat): town centres and sizes."""
    lon = rng.uniform(COUNTRY[0] + 0.3, COUNTRY[2] - 0.3, count)
    lat = rng.uniform(COUNTRY[1] + 0.3, COUNTRY[3] - 0.3, count)
    size = rng.lognormal(-2.3, 0.5, count)
    return np.column_stack([lon, lat, size * 1.6, size])


def morton_order(xy):
    """Return the order of points along a Z curve, so that runs of it are neighbours."""
    grid = ((xy - xy.min(axis=0)) / np.ptp(xy, axis=0).clip(1e-9) * 65535).astype(np.uint64)
    key = np.zeros(len(xy), dtype=np.uint64)
    for bit in range(16):
        for axis in (0, 1):
            key |= ((grid[:, axis] >> np.uint64(bit)) & np.uint64(1)) << np.uint64(2 * bit + axis)
    return np.argsort(key, kind="stable")


def _jitter(xy):
    # A small wiggle that depends only on the vertex, so neighbours keep sharing their edges.
    xy = np.round(xy, 9)
    a = np.sin(xy[:, 0] * 12989.8 + xy[:, 1] * 78233.0) * 43758.5453
    b = np.sin(xy[:, 0] * 39346.8 + xy[:, 1] * 11135.0) * 24634.6345
    return xy + (np.column_stack([a - np.floor(a), b - np.floor(b)]) - 0.5) * 0.0003


def make_wards(rng, n, towns):
    """Return a GeoDataFrame of n wards tiling the country, in local authorities of 30."""
    seeds = sample_points(rng, n, towns)
    seeds = seeds[morton_order(seeds)]
    cells = shapely.voronoi_polygons(
        shapely.multipoints(seeds), extend_to=box(*COUNTRY), ordered=True
    )
    cells = shapely.intersection(np.asarray(cells.geoms), box(*COUNTRY))
    # A vertex every 0.004° at 8,400 wards (about 66 per ward); as many per ward at any count.
    spacing = 0.004 * np.sqrt(8400 / n)
    cells = shapely.transform(shapely.segmentize(cells, spacing), _jitter)
    polygons = [geo.repair(c)[0] for c in cells]
    la = np.minimum(np.arange(n) // LA_SIZE, max(n // LA_SIZE - 1, 0))
    deciles = rng.integers(1, 11, n)
    return gpd.GeoDataFrame(
        {
            "code": [f"E05{100000 + i:06d}" for i in range(n)],
            "name": [f"Ward {i}" for i in range(n)],
            "la_code": [f"E07{100000 + j:06d}" for j in la],
            "la_name": [f"District {j}" for j in la],
            "vintage": "2024",
            "population": rng.integers(2500, 16000, n),
            "imd_decile": deciles,
            "imd_rank": (deciles - rng.uniform(0, 1, n)) * 3284.4,
        },
        geometry=polygons,
        crs=geo.WGS84,
    )


def ewkb(geoms):
    """Return GeoAlchemy2 elements for shapely geometries, built in bulk."""
    blobs = shapely.to_wkb(shapely.set_srid(np.asarray(geoms), geo.SRID), include_srid=True)
    return [WKBElement(b, srid=geo.SRID, extended=True) for b in blobs]


def insert_chunks(session, table, rows):
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(table), rows[start : start + CHUNK])


def new_ids(session, model, count):
    """Return the ids of the last `count` rows inserted into `model`'s table, in order."""
    ids = session.scalars(select(model.id).order_by(model.id.desc()).limit(count)).all()
    return ids[::-1]


def build(session, args, rng):
    """Fill an empty database; return (ward polygons, group points) for the baseline."""
    towns = make_towns(rng)
    started = time.perf_counter()
    wards = make_wards(rng, args.wards, towns)
    now = datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC)
    areas = geo.areas_km2(wards.geometry)
    session.execute(
        insert(Ward),
        [
            {
                **{k: v.item() if hasattr(v, "item") else v for k, v in row.items()},
                "current": True,
                "area_km2": float(area),
                "geom": element,
                "label_point": label,
                "updated_at": now,
            }
            for row, area, element, label in zip(
                wards.drop(columns="geometry").to_dict("records"),
                areas,
                ewkb(wards.geometry.values),
                ewkb(shapely.point_on_surface(wards.geometry.values)),
                strict=True,
            )
        ],
    )
    log(f"wards: {len(wards)} in {time.perf_counter() - started:.1f} s")

    slugs = session.execute(select(Category.slug, Category.id)).all()
    category_ids = np.array([c for _, c in slugs])

    started = time.perf_counter()
    # Some wards have no groups at all: drop the points that fall in them.
    xy = sample_points(rng, int(args.groups * 1.1) + 100, towns)
    points = shapely.points(xy)
    ward_ids = np.array([w if w is not None else -1 for w in locate_wards(session, points)])
    empty = rng.choice(np.unique(ward_ids), size=max(1, args.wards // 30), replace=False)
    keep = np.flatnonzero(~np.isin(ward_ids, empty))[: args.groups]
    points, ward_ids = points[keep], ward_ids[keep]
    n = len(points)
    status = rng.choice(["active", "pending", "closed", "inactive"], n, p=[0.9, 0.04, 0.03, 0.03])
    active_from = [TODAY - timedelta(days=int(d)) for d in rng.integers(30, 3650, n)]
    verified = [TODAY - timedelta(days=int(d)) for d in rng.integers(1, 900, n)]
    kinds = rng.choice(KINDS, n)
    elements = ewkb(points)
    rows = [
        {
            "name": f"Group {i}",
            "kind": kinds[i],
            "status": status[i],
            "ward_id": int(ward_ids[i]) if ward_ids[i] >= 0 else None,
            "geom": elements[i],
            "last_verified": verified[i],
            "active_from": active_from[i],
            "active_until": (
                active_from[i] + (TODAY - active_from[i]) / 2 if status[i] == "closed" else None
            ),
            "created_at": now,
            "updated_at": now,
        }
        for i in range(n)
    ]
    insert_chunks(session, CommunityGroup.__table__, rows)
    group_ids = np.array(new_ids(session, CommunityGroup, n))
    links = []
    for count in (1, 2):
        chosen = group_ids[rng.random(n) < (1.0 if count == 1 else 0.5)]
        picked = rng.choice(category_ids, len(chosen))
        links += [
            {"group_id": int(g), "category_id": int(c)} for g, c in zip(chosen, picked, strict=True)
        ]
    links = list({(r["group_id"], r["category_id"]): r for r in links}.values())
    # Multi-row INSERTs: on PostGIS the category-mask triggers (migration 0012) then fire
    # once per statement, not once per link.
    db.insert_many(session, group_categories, links)
    # 8% of groups also work in a ward near their own (wards were stored in Z-curve order).
    serving = np.flatnonzero((rng.random(n) < 0.08) & (ward_ids >= 0))
    all_wards = np.array(session.scalars(select(Ward.id).order_by(Ward.id)).all())
    nearby = np.searchsorted(all_wards, ward_ids[serving]) + rng.integers(-3, 4, len(serving))
    nearby = all_wards[np.clip(nearby, 0, len(all_wards) - 1)]
    served = {(int(group_ids[i]), int(w)) for i, w in zip(serving, nearby, strict=True)}
    insert_chunks(session, group_wards_served, [{"group_id": g, "ward_id": w} for g, w in served])
    log(f"groups: {n} with {len(links)} categories in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    service_points = shapely.points(sample_points(rng, args.services, towns))
    service_wards = locate_wards(session, service_points)
    insert_chunks(
        session,
        Service.__table__,
        [
            {
                "name": f"Service {i}",
                "status": "active" if rng.random() < 0.95 else "inactive",
                "ward_id": w,
                "geom": e,
                "created_at": now,
                "updated_at": now,
            }
            for i, (w, e) in enumerate(zip(service_wards, ewkb(service_points), strict=True))
        ],
    )
    service_ids = new_ids(session, Service, args.services)
    insert_chunks(
        session,
        service_categories,
        [
            {"service_id": s, "category_id": int(c)}
            for s, c in zip(service_ids, rng.choice(category_ids, len(service_ids)), strict=True)
        ],
    )
    log(f"services: {args.services} in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    label_points = shapely.point_on_surface(wards.geometry.values)
    tree = shapely.STRtree(label_points)
    patches = []
    for centre in rng.integers(0, len(wards), args.coordinators):
        near = tree.query_nearest(label_points[centre], all_matches=False)
        nearest = tree.query(shapely.buffer(label_points[centre], float(rng.uniform(0.02, 0.1))))
        chosen = np.union1d(near, nearest)[:4]
        patches.append(geo.as_multipolygon(shapely.union_all(wards.geometry.values[chosen])))
    insert_chunks(
        session,
        Coordinator.__table__,
        [
            {
                "name": f"Coordinator {i}",
                "patch": e,
                "capacity": 40,
                "created_at": now,
                "updated_at": now,
            }
            for i, e in enumerate(ewkb(patches))
        ],
    )
    update_coordinator_coverage(session)
    log(f"coordinators: {args.coordinators} in {time.perf_counter() - started:.1f} s")
    session.commit()
    return wards.geometry.values, xy[keep]


def load_for_baseline(session):
    """Read the ward polygons and group points of a database built earlier."""
    rows = session.execute(select(func.ST_AsBinary(Ward.geom)).order_by(Ward.id)).scalars()
    polygons = shapely.from_wkb(list(rows))
    xy = np.array(
        session.execute(
            select(func.ST_X(CommunityGroup.geom), func.ST_Y(CommunityGroup.geom))
        ).all()
    )
    return polygons, xy


def baseline_frames(polygons, xy):
    """The wards and points of the baseline, as GeoDataFrames in memory (not timed)."""
    wards = gpd.GeoDataFrame({"ward": np.arange(len(polygons))}, geometry=polygons, crs=4326)
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=4326)
    return wards, points


def baseline(wards, points):
    """The bare spatial join and count that the analysis is compared with."""
    return gpd.sjoin(points, wards, predicate="intersects").groupby("ward").size()


def timed(function, runs, cpu=None):
    """Return the wall-clock times of `runs` calls; append their process CPU times to `cpu`."""
    times = []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        function()
        times.append(time.perf_counter() - started)
        if cpu is not None:
            cpu.append(time.process_time() - started_cpu)
    return times


# The analyses timed as the server answers them just after a write: a new data version (so
# no answer is cached) but what does not depend on it kept (the grids of wards without
# postcodes), nationally and with each filter.
AFTER_WRITE = {
    "national": {},
    "category": {"categories": ["older-people"]},
    "kind": {"kinds": ["charity"]},
    "as_of": {"as_of": TODAY - timedelta(days=180)},
}


def after_writes(app, runs):
    """Return {name: times} of the AFTER_WRITE analyses in an app's session, each run after
    bumping the data version as a write does."""
    times = {name: [] for name in AFTER_WRITE}
    with app.app_context():
        session = db.get_session()
        analysis.compute_gaps(session)  # what a first request builds and keeps
        for name, filters in AFTER_WRITE.items():
            for _ in range(runs):
                version.bump(session)
                session.commit()
                started = time.perf_counter()
                analysis.compute_gaps(session, **filters)
                times[name].append(time.perf_counter() - started)
        session.rollback()
    return times


def from_kept(app, runs):
    """Return the times of the national analysis in a process with an empty cache of its own,
    once one process has computed it and kept it in the database (store/kept.py)."""
    times = []
    with app.app_context():
        session = db.get_session()
        app.extensions["mapper.db"].cache.clear()
        analysis.compute_gaps(session)  # computed, or read (and kept again if far behind)
        session.rollback()  # an answer is written once the transaction ends
        for _ in range(runs):
            app.extensions["mapper.db"].cache.clear()
            started = time.perf_counter()
            analysis.compute_gaps(session)
            times.append(time.perf_counter() - started)
            session.rollback()
    return times


def edit(session, rng, top, run):
    """Make a real edit of a random group, one of three kinds in turn: move it about 300 m,
    close it, or add a group with a category near it."""
    group = None
    while group is None or group.status != "active":
        group = session.get(CommunityGroup, int(rng.integers(1, top + 1)))
    lon, lat = session.execute(
        select(func.ST_X(CommunityGroup.geom), func.ST_Y(CommunityGroup.geom)).where(
            CommunityGroup.id == group.id
        )
    ).one()
    step = rng.uniform(-0.004, 0.004, 2)
    point = WKBElement(shapely.to_wkb(shapely.Point(lon + step[0], lat + step[1])), srid=geo.SRID)
    if run % 3 == 0:
        group.geom = point
    elif run % 3 == 1:
        group.status, group.active_until = "closed", TODAY
    else:
        category = session.scalars(select(Category).where(Category.slug == "older-people")).one()
        session.add(
            CommunityGroup(
                name="Benchmark group",
                status="active",
                kind="charity",
                geom=point,
                active_from=TODAY - timedelta(days=400),
                last_verified=TODAY,
                categories=[category],
            )
        )


def after_edits(app, runs, seed):
    """Return {name: times} of the AFTER_WRITE analyses in an app's session, each kept, then
    run again after each of `runs` real edits (`edit`)."""
    rng = np.random.default_rng(seed)
    times = {name: [] for name in AFTER_WRITE}
    with app.app_context():
        session = db.get_session()
        top = session.scalar(select(func.max(CommunityGroup.id)))
        for name, filters in AFTER_WRITE.items():
            analysis.compute_gaps(session, **filters)  # kept, as the server keeps it
            session.rollback()
            for run in range(runs):
                edit(session, rng, top, run)
                session.commit()
                started = time.perf_counter()
                analysis.compute_gaps(session, **filters)
                times[name].append(time.perf_counter() - started)
                session.rollback()
    return times


def database_url(args):
    """Return (url, cleanup) for the benchmark's database."""
    if args.database:
        return args.database, lambda: None
    if args.backend == "spatialite":
        folder = tempfile.TemporaryDirectory(prefix="mapper-bench-")
        return f"sqlite:///{Path(folder.name) / 'bench.sqlite'}", folder.cleanup
    admin = create_engine(db.normalise_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    name = f"mapper_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return db.normalise_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False), drop


def main(argv=None):
    args = parse_args(argv)
    url, cleanup = database_url(args)
    try:
        return run(args, url)
    finally:
        cleanup()


def run(args, url):
    engine = db.make_engine(url)
    db.upgrade_schema(engine)
    rng = np.random.default_rng(args.seed)
    with Session(engine) as session:
        if session.scalar(select(func.count()).select_from(Ward)) == 0:
            polygons, xy = build(session, args, rng)
        else:
            log("reusing the data already in the database")
            polygons, xy = load_for_baseline(session)
        counts = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Ward, CommunityGroup, Service, Coordinator)
        }
        la_code, la_wards = session.execute(
            select(Ward.la_code, func.count())
            .group_by(Ward.la_code)
            .order_by(func.abs(func.count() - LA_SIZE), Ward.la_code)
            .limit(1)
        ).one()

    if not db.is_spatialite(engine):
        # What autovacuum does to a live database after a bulk load: statistics for the
        # planner and the visibility map.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))

    load_before = os.getloadavg()[0]
    with Session(engine) as session:
        frame = analysis.compute_gaps(session)  # warm the caches once
        log(f"analysis: {len(frame)} wards, {frame['groups'].sum()} groups counted")
        analysis_cpu, baseline_cpu = [], []
        analysis_times = timed(lambda: analysis.compute_gaps(session), args.runs, analysis_cpu)
        la_times = timed(lambda: analysis.compute_gaps(session, la_codes=[la_code]), args.runs)
        # The floor the issue measures against: a bare count per stored ward id.
        bare = select(CommunityGroup.ward_id, func.count()).group_by(CommunityGroup.ward_id)
        group_by_times = timed(lambda: session.execute(bare).all(), args.runs)
    wards, points = baseline_frames(polygons, xy)
    baseline_times = timed(lambda: baseline(wards, points), args.runs, baseline_cpu)
    load_after = os.getloadavg()[0]
    engine.dispose()

    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "benchmark"})
    after_write = after_writes(app, args.runs)
    after_edit = after_edits(app, args.runs, args.seed)
    kept_times = from_kept(app, args.runs)
    client = app.test_client()
    response = client.get(f"/gaps.geojson?la={la_code}")
    assert response.status_code == 200, response.get_data(as_text=True)
    geojson_bytes = len(response.get_data())
    geojson_times = timed(lambda: client.get(f"/gaps.geojson?la={la_code}"), args.runs)
    app.extensions["mapper.db"].dispose()

    def median(times):
        return round(statistics.median(times), 4)

    result = {
        "backend": args.backend,
        **{f"n_{k}": v for k, v in counts.items()},
        "runs": args.runs,
        "analysis_s": median(analysis_times),
        "la_analysis_s": median(la_times),
        "baseline_sjoin_s": median(baseline_times),
        "ratio": round(statistics.median(analysis_times) / statistics.median(baseline_times), 3),
        "bare_group_by_s": median(group_by_times),
        "ratio_to_group_by": round(
            statistics.median(analysis_times) / statistics.median(group_by_times), 2
        ),
        **{f"after_write_{k}_s": median(v) for k, v in after_write.items()},
        **{
            f"after_write_{k}_ratio": round(
                statistics.median(v) / statistics.median(baseline_times), 3
            )
            for k, v in after_write.items()
        },
        "after_write_ratio_to_group_by": round(
            statistics.median(after_write["national"]) / statistics.median(group_by_times), 2
        ),
        **{f"after_edit_{k}_s": median(v) for k, v in after_edit.items()},
        **{
            f"after_edit_{k}_ratio": round(
                statistics.median(v) / statistics.median(baseline_times), 3
            )
            for k, v in after_edit.items()
        },
        **{
            f"after_edit_{k}_ratio_to_group_by": round(
                statistics.median(v) / statistics.median(group_by_times), 2
            )
            for k, v in after_edit.items()
        },
        "after_edit_all_s": {k: [round(t, 3) for t in v] for k, v in after_edit.items()},
        "kept_national_s": median(kept_times),
        "kept_national_ratio_to_group_by": round(
            statistics.median(kept_times) / statistics.median(group_by_times), 2
        ),
        "kept_national_all_s": [round(t, 4) for t in kept_times],
        "la_code": la_code,
        "la_wards": la_wards,
        "la_geojson_bytes": geojson_bytes,
        "la_geojson_s": median(geojson_times),
        # Process CPU seconds: with SpatiaLite the whole analysis runs in this process, so
        # these show the cost without the waiting a busy machine adds (PostGIS works in
        # its own processes, which this leaves out).
        "analysis_cpu_s": median(analysis_cpu),
        "baseline_cpu_s": median(baseline_cpu),
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "analysis_all_s": [round(t, 3) for t in analysis_times],
        "la_analysis_all_s": [round(t, 4) for t in la_times],
        "baseline_all_s": [round(t, 3) for t in baseline_times],
    }
    keys = ("analysis_s", "la_analysis_s", "baseline_sjoin_s", "ratio", "bare_group_by_s")
    written = [
        k
        for k in result
        if k.startswith(("after_write_", "after_edit_", "kept_")) and "all" not in k
    ]
    for key in (*keys, "ratio_to_group_by", *written, "la_geojson_bytes"):
        print(f"{key}: {result[key]}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
