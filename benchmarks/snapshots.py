"""Store a monthly national snapshot for ten years; report the database growth and the time
to compute the change between any two, for one local authority and nationally.

    .venv/bin/python benchmarks/snapshots.py --wards 8400 --groups 200000 --backend spatialite

Builds the synthetic country of benchmarks/gaps.py (Voronoi wards of about 66 vertices in
local authorities of 30; groups whose activity dates spread over ten years, so every month's
figures differ) plus synthetic postcodes, then stores `--months` monthly snapshots of every
ward through the project's own path (`core.snapshots.backfill`: the analysis `as_of` the first
of each month, stored as a snapshot). It measures the database before and after (SQLite:
the file after a checkpoint; PostGIS: pg_database_size). Then it times `compute_changes`
between random pairs of snapshots, for one local authority and for every ward, several runs
each. Finally one local authority's wards are redrawn (a boundary change), a snapshot taken,
and the change across it timed too: for that authority (every ward converted by postcodes)
and nationally. Prints medians; the last line is JSON.
"""

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import box
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from mapper import geo
from mapper.core import changes, snapshots, wards
from mapper.store import db
from mapper.store.evidence import Snapshot, SnapshotPart, SnapshotShape
from mapper.store.models import Postcode, Ward

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("gaps_benchmark", HERE / "gaps.py")
gaps = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gaps)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wards", type=int, default=8400)
    parser.add_argument("--groups", type=int, default=200_000)
    parser.add_argument("--postcodes-per-ward", type=int, default=100)
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--backend", choices=("spatialite", "postgis"), default="spatialite")
    parser.add_argument("--database", help="a database URL to build in")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args(argv)
    args.services = args.groups // 20
    args.coordinators = round(args.wards * 2000 / 8400)
    return args


def log(message):
    print(message, file=sys.stderr, flush=True)


def database_bytes(engine):
    """The size of the database: the SQLite file (WAL checkpointed), or pg_database_size."""
    with engine.connect() as conn:
        if db.is_spatialite(engine):
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            return Path(engine.url.database).stat().st_size
        return conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()


def add_postcodes(session, rng, per_ward):
    """Synthetic postcode centroids: `per_ward` per ward on average, denser in towns."""
    polygons = shapely.from_wkb(
        list(session.scalars(select(func.ST_AsBinary(Ward.geom)).order_by(Ward.id)))
    )
    rows = []
    for i, polygon in enumerate(polygons):
        min_x, min_y, max_x, max_y = polygon.bounds
        xy = rng.uniform((min_x, min_y), (max_x, max_y), (per_ward * 3, 2))
        inside = shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])
        count = int(rng.integers(per_ward // 2, per_ward * 3 // 2 + 1))
        for j, (lon, lat) in enumerate(xy[inside][:count]):
            rows.append({"postcode": f"Z{i:04d}{j:03d}"[:8], "lon": lon, "lat": lat})
    gaps.insert_chunks(session, Postcode.__table__, rows)
    session.commit()
    return len(rows)


def month_starts(months, today):
    """The first days of the last `months` months, ending with this one."""
    first = today.replace(day=1)
    index = first.year * 12 + first.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1), first


def redraw(session, la_code, rng):
    """Give one local authority new wards (same area, other boundaries): a boundary change."""
    rows = session.execute(
        select(Ward.code, func.ST_AsBinary(Ward.geom)).where(Ward.current, Ward.la_code == la_code)
    ).all()
    whole = shapely.union_all(shapely.from_wkb([r[1] for r in rows]))
    seeds = shapely.points(rng.uniform(whole.bounds[:2], whole.bounds[2:], (len(rows) * 4, 2)))
    seeds = seeds[shapely.contains(whole, seeds)][: len(rows)]
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=box(*whole.bounds))
    cells = [geo.repair(shapely.intersection(c, whole))[0] for c in cells.geoms]
    cells = [c for c in cells if not c.is_empty]
    frame = gpd.GeoDataFrame(
        {
            "code": [f"E05{900000 + i:06d}" for i in range(len(cells))],
            "name": [f"New ward {i}" for i in range(len(cells))],
            "la_code": la_code,
            "la_name": "Redrawn district",
            "vintage": "2026",
        },
        geometry=cells,
        crs=geo.WGS84,
    )
    with db.transaction(session):
        wards.import_wards(session, frame)
    return len(cells)


def main(argv=None):
    args = parse_args(argv)
    url, cleanup = gaps.database_url(args)
    try:
        return run(args, url)
    finally:
        cleanup()


def run(args, url):
    engine = db.make_engine(url)
    db.upgrade_schema(engine)
    rng = np.random.default_rng(args.seed)
    today = gaps.TODAY
    with Session(engine) as session:
        gaps.build(session, args, rng)
        postcodes = add_postcodes(session, rng, args.postcodes_per_ward)
        log(f"postcodes: {postcodes}")
    if not db.is_spatialite(engine):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    before = database_bytes(engine)
    load_before = os.getloadavg()

    start, end = month_starts(args.months, today)
    with Session(engine) as session:
        started = time.perf_counter()
        taken, skipped = snapshots.backfill(session, start, end, today=today)
        storing = time.perf_counter() - started
    log(f"snapshots: {len(taken)} in {storing:.0f} s ({len(skipped)} skipped)")
    after = database_bytes(engine)
    load_stored = os.getloadavg()

    with Session(engine) as session:
        ids = list(session.scalars(select(Snapshot.id).order_by(Snapshot.reference_date)))
        counts = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Snapshot, SnapshotPart, SnapshotShape)
        }
        la_code = session.scalar(
            select(Ward.la_code).group_by(Ward.la_code).order_by(Ward.la_code).limit(1)
        )
        pairs = [sorted(rng.choice(ids, 2, replace=False)) for _ in range(args.runs)]

        def change(la_codes):
            def call():
                a, b = pairs[call.run % len(pairs)]
                call.run += 1
                session.expunge_all()
                frame = changes.compute_changes(
                    session, session.get(Snapshot, int(a)), session.get(Snapshot, int(b)), la_codes
                )
                assert len(frame)

            call.run = 0
            return call

        changes.compute_changes(
            session, session.get(Snapshot, ids[0]), session.get(Snapshot, ids[-1]), [la_code]
        )
        la_times = gaps.timed(change([la_code]), args.runs)
        national_times = gaps.timed(change([]), args.runs)

        new_wards = redraw(session, la_code, rng)
        redrawn_id = snapshots.take_snapshot(session, "After the boundary change").id

        def across(la_codes):
            def call():
                session.expunge_all()
                frame = changes.compute_changes(
                    session,
                    session.get(Snapshot, ids[-1]),
                    session.get(Snapshot, redrawn_id),
                    la_codes,
                )
                assert frame.attrs["metadata"]["conversion"]["converted"]

            return call

        across_la = gaps.timed(across([la_code]), args.runs)
        across_national = gaps.timed(across([]), args.runs)
    load_after = os.getloadavg()
    engine.dispose()

    def median(times):
        return round(statistics.median(times), 3)

    growth = after - before
    result = {
        "backend": args.backend,
        "wards": args.wards,
        "groups": args.groups,
        "postcodes": postcodes,
        "snapshots": len(taken),
        "rows_stored": len(taken) * args.wards,
        **{f"n_{k}": v for k, v in counts.items()},
        "database_bytes_before": before,
        "database_bytes_after": after,
        "growth_bytes": growth,
        "growth_mib": round(growth / 2**20, 1),
        "growth_per_snapshot_kib": round(growth / max(len(taken), 1) / 1024, 1),
        "store_s_per_snapshot": round(storing / max(len(taken), 1), 2),
        "runs": args.runs,
        "change_one_la_s": median(la_times),
        "change_national_s": median(national_times),
        "redrawn_la_wards": new_wards,
        "change_across_boundaries_one_la_s": median(across_la),
        "change_across_boundaries_national_s": median(across_national),
        "la_code": la_code,
        "load_average": {
            "before": [round(v, 2) for v in load_before],
            "after_storing": [round(v, 2) for v in load_stored],
            "after": [round(v, 2) for v in load_after],
        },
        "change_one_la_all_s": [round(t, 3) for t in la_times],
        "change_national_all_s": [round(t, 3) for t in national_times],
        "across_one_la_all_s": [round(t, 3) for t in across_la],
        "across_national_all_s": [round(t, 3) for t in across_national],
    }
    for key in (
        "snapshots",
        "growth_mib",
        "growth_per_snapshot_kib",
        "change_one_la_s",
        "change_national_s",
        "change_across_boundaries_one_la_s",
        "change_across_boundaries_national_s",
    ):
        print(f"{key}: {result[key]}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
