"""Time `mapper import-groups` of a large CSV into a synthetic country, on each backend.

    .venv/bin/python benchmarks/import_groups.py --groups 100000 --wards 8400 \
        [--backends spatialite,postgis] [--runs 3] [--profile]

Builds the wards of benchmarks/gaps.py (Voronoi wards of about 66 vertices in local
authorities of 30), writes a CSV of groups (id, name, lon, lat, kind, one or two categories)
clustered around towns, then imports it through the `mapper` command in this process, into
an empty groups table each run. Prints rows/s (median of the runs), the peak resident memory
of the process and the load average; the last line is JSON. The issue's target is 1,000,000
rows in under 60 s; run it at a scale this machine allows and say which. The CPU seconds of
this process are printed too: on a shared machine they move less with the load.
"""

import argparse
import cProfile
import json
import os
import pstats
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gaps as country  # noqa: E402 - the synthetic country of benchmarks/gaps.py

from mapper import create_app, geo  # noqa: E402
from mapper.store import db  # noqa: E402
from mapper.store.models import (  # noqa: E402
    AuditEvent,
    Category,
    CommunityGroup,
    Ward,
    group_categories,
)


def build_wards(engine, n, rng):
    """Fill the wards table; return the towns groups cluster around."""
    towns = country.make_towns(rng)
    wards = country.make_wards(rng, n, towns)
    areas = geo.areas_km2(wards.geometry)
    rows = [
        {
            **{k: v.item() if hasattr(v, "item") else v for k, v in row.items()},
            "current": True,
            "area_km2": float(area),
            "geom": element,
            "label_point": label,
        }
        for row, area, element, label in zip(
            wards.drop(columns="geometry").to_dict("records"),
            areas,
            country.ewkb(wards.geometry.values),
            country.ewkb(shapely.point_on_surface(wards.geometry.values)),
            strict=True,
        )
    ]
    with Session(engine) as session:
        session.execute(insert(Ward), rows)
        session.commit()
    return towns


def write_csv(path, n, towns, slugs, rng):
    """Write n groups to a CSV the way a directory export looks."""
    xy = country.sample_points(rng, n, towns)
    lo, hi = np.array(country.COUNTRY[:2]) + 0.01, np.array(country.COUNTRY[2:]) - 0.01
    xy = np.clip(xy, lo, hi)  # inside the country's edge, which no ward's edge quite meets
    first = rng.choice(slugs, n)
    second = rng.choice(slugs, n)
    two = rng.random(n) < 0.5
    categories = np.where(
        two & (first != second), np.char.add(np.char.add(first, ";"), second), first
    )
    pd.DataFrame(
        {
            "id": [f"BULK-{i}" for i in range(n)],
            "name": [f"Group {i}" for i in range(n)],
            "lon": np.round(xy[:, 0], 6),
            "lat": np.round(xy[:, 1], 6),
            "kind": rng.choice(country.KINDS, n),
            "categories": categories,
        }
    ).to_csv(path, index=False)


def empty_groups(engine):
    with engine.begin() as conn:
        conn.execute(delete(group_categories))
        conn.execute(delete(CommunityGroup.__table__))
        conn.execute(delete(AuditEvent.__table__))


def measure(backend, args):
    args.backend, args.database = backend, None
    url, cleanup = country.database_url(args)
    try:
        app = create_app({"DATABASE_URL": url, "CHECK_SECRET_KEY": False, "TESTING": True})
        engine = app.extensions["mapper.db"].engine
        db.upgrade_schema(engine)
        rng = np.random.default_rng(args.seed)
        started = time.perf_counter()
        towns = build_wards(engine, args.wards, rng)
        with engine.connect() as conn:
            slugs = np.array(conn.execute(select(Category.slug)).scalars().all())
        print(
            f"{backend}: {args.wards} wards in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "groups.csv"
            write_csv(path, args.groups, towns, slugs, rng)
            runner = app.test_cli_runner()
            times, loads, cpu = [], [], []
            for run in range(args.runs):
                empty_groups(engine)
                if not db.is_spatialite(engine):
                    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                        c.execute(text("VACUUM ANALYZE"))
                profile = cProfile.Profile() if args.profile and run == 0 else None
                start, start_cpu = time.perf_counter(), time.process_time()
                if profile:
                    profile.enable()
                result = runner.invoke(args=["import-groups", str(path)])
                if profile:
                    profile.disable()
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
                loads.append(os.getloadavg()[0])
                if result.exit_code != 0:
                    raise SystemExit(f"import failed:\n{result.output[-2000:]}")
                if profile:
                    pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(22)
                print(
                    f"{backend}: run {run + 1}: {times[-1]:.1f} s "
                    f"({result.output.strip().splitlines()[-1]})",
                    file=sys.stderr,
                )
            with engine.connect() as conn:
                stored = conn.execute(select(func.count()).select_from(CommunityGroup)).scalar()
                located = conn.execute(
                    select(func.count())
                    .select_from(CommunityGroup)
                    .where(CommunityGroup.ward_id.is_not(None))
                ).scalar()
        app.extensions["mapper.db"].dispose()
    finally:
        cleanup()
    seconds = statistics.median(times)
    return {
        "backend": backend,
        "groups": args.groups,
        "wards": args.wards,
        "stored": stored,
        "with_ward": located,
        "runs": args.runs,
        "seconds_median": round(seconds, 2),
        "rows_per_s": round(args.groups / seconds),
        "seconds_all": [round(t, 2) for t in times],
        # This process's CPU time: on SpatiaLite the whole import, on PostGIS all but the
        # server's; less swayed than the wall clock by others' load on a shared machine.
        "cpu_seconds_median": round(statistics.median(cpu), 2),
        "load_average": [round(v, 2) for v in loads],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=100_000)
    parser.add_argument("--wards", type=int, default=8400)
    parser.add_argument("--backends", default="spatialite,postgis")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--profile", action="store_true", help="cProfile the first run")
    args = parser.parse_args()
    results = []
    for backend in args.backends.split(","):
        figures = measure(backend, args)
        results.append(figures)
        print(
            f"{backend:10} {args.groups} groups: {figures['seconds_median']:.1f} s, "
            f"{figures['rows_per_s']:,} rows/s (median of {args.runs}; "
            f"{figures['cpu_seconds_median']:.1f} s CPU in this process; "
            f"load {figures['load_average']})"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"results": results, "peak_rss_mb": round(peak_mb)}))


if __name__ == "__main__":
    main()
