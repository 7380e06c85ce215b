"""Time importing the 654 London wards and the 11,264 Trafford postcodes on each backend.

    .venv/bin/python benchmarks/imports.py [--runs 5] [--backends spatialite,postgis]
    .venv/bin/python benchmarks/imports.py --postcodes 1700000 [--runs 3]

With --postcodes N, it times instead a synthetic file of N distinct well-formed postcodes
inside Great Britain (lon, lat, residents; written to a temporary folder first), the size of
the ONS Postcode Directory at 1.7 M, and prints the peak RSS of this process too.

Each run imports into an empty database through the `mapper` commands in this process (the
interpreter's start-up is not counted), then imports the same file again (nothing changes).
Prints the median of the runs per backend; the last line is JSON. PostGIS is reached at
MAPPER_TEST_POSTGRES (as in the tests), in a database made for the run and dropped after.
"""

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text

from mapper import create_app
from mapper.store import db
from mapper.store.models import Base

GEODATA = Path(
    os.environ.get("MAPPER_GEODATA", Path(__file__).resolve().parents[2] / "shared" / "geodata")
)
POSTGRES = os.environ.get(
    "MAPPER_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CASES = {
    "london_wards_654": [
        "import-wards",
        GEODATA / "london/london_wards_2014_bng_shp.zip",
        "--vintage",
        "2014",
    ],  # fmt: skip
    "trafford_postcodes_11264": [
        "import-postcodes",
        GEODATA / "trafford/trafford_postcodes_onspd_feb2025.csv",
    ],
}


@contextmanager
def database(backend):
    """Yield the URL of an empty, migrated database of this backend."""
    if backend == "spatialite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.sqlite"
        return
    admin = create_engine(db.normalise_url(POSTGRES), isolation_level="AUTOCOMMIT")
    name = f"mapper_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield db.normalise_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def empty(engine):
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "categories":
                conn.execute(table.delete())


def cpu_seconds():
    """Return the CPU time (user and system) this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(runner, args, cpu=None):
    """Run a command; return its wall-clock seconds and its output's last line, appending
    the CPU seconds of this process (not the database server's) to `cpu`."""
    start, start_cpu = time.perf_counter(), cpu_seconds()
    result = runner.invoke(args=[str(a) for a in args])
    elapsed = time.perf_counter() - start
    if cpu is not None:
        cpu.append(cpu_seconds() - start_cpu)
    if result.exit_code != 0:
        raise SystemExit(f"{args[0]} failed:\n{result.output}")
    return elapsed, result.output.strip().splitlines()[-1]


# Postcode units use these 20 letters; 8 areas x 99 districts x 10 sectors x 400 units hold
# 3.2 M distinct postcodes.
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
AREAS = ["AB", "BS", "CF", "DD", "EH", "LS", "M", "NE"]


def write_postcodes(path, count, chunk=200_000):
    """Write a CSV of `count` distinct postcodes with lon/lat in GB and residents, a chunk at
    a time (so that writing it does not raise this process's peak memory)."""
    rng = np.random.default_rng(12)
    units = [a + b for a in UNIT_LETTERS for b in UNIT_LETTERS]
    with open(path, "w", encoding="utf-8") as out:
        out.write("pcds,lat,long,population\n")
        for start in range(0, count, chunk):
            n = min(chunk, count - start)
            lons = rng.uniform(-5.5, 1.7, n).round(6)
            lats = rng.uniform(50.2, 57.6, n).round(6)
            people = rng.integers(0, 90, n)
            lines = []
            for i, number in enumerate(range(start, start + n)):
                area, rest = divmod(number, 99 * 10 * 400)
                district, rest = divmod(rest, 10 * 400)
                sector, unit = divmod(rest, 400)
                residents = "" if number % 17 == 0 else people[i]
                lines.append(
                    f"{AREAS[area]}{district + 1} {sector}{units[unit]},"
                    f"{lats[i]},{lons[i]},{residents}\n"
                )
            out.write("".join(lines))


def peak_rss_mb():
    """Return this process's peak resident memory so far, in MB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def measure(backend, runs):
    figures = {}
    with database(backend) as url:
        app = create_app({"DATABASE_URL": url, "CHECK_SECRET_KEY": False})
        engine = app.extensions["mapper.db"].engine
        db.upgrade_schema(engine)
        runner = app.test_cli_runner()
        for case, args in CASES.items():
            first, again, cpu, cpu_again = [], [], [], []
            for _ in range(runs):
                empty(engine)
                seconds, summary = timed(runner, args, cpu)
                first.append(seconds)
                seconds, summary_again = timed(runner, args, cpu_again)
                again.append(seconds)
            figures[case] = {
                "seconds_median": round(statistics.median(first), 3),
                "again_seconds_median": round(statistics.median(again), 3),
                "cpu_seconds_median": round(statistics.median(cpu), 3),
                "again_cpu_seconds_median": round(statistics.median(cpu_again), 3),
                "runs": runs,
                "peak_rss_mb_so_far": peak_rss_mb(),
            }
            print(
                f"{backend:10} {case:26} import {statistics.median(first):6.2f} s   "
                f"again {statistics.median(again):6.2f} s   (CPU here {statistics.median(cpu):.1f} "
                f"/ {statistics.median(cpu_again):.1f} s; median of {runs}; load "
                f"{os.getloadavg()[0]:.2f}, peak RSS so far {peak_rss_mb()} MB)\n"
                f"    {summary}\n    again: {summary_again}"
            )
        app.extensions["mapper.db"].dispose()
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backends", default="spatialite,postgis")
    parser.add_argument("--postcodes", type=int, help="time a synthetic file of N postcodes")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if options.postcodes:
            path = Path(folder) / f"postcodes_{options.postcodes}.csv"
            write_postcodes(path, options.postcodes)
            CASES.clear()
            CASES[f"synthetic_postcodes_{options.postcodes}"] = ["import-postcodes", path]
        results = {b: measure(b, options.runs) for b in options.backends.split(",")}
    print(
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, peak RSS {peak_rss_mb()} MB"
    )
    print(
        json.dumps(
            {
                "benchmark": "imports",
                "cpus": os.cpu_count(),
                "load_average": os.getloadavg(),
                "peak_rss_mb": peak_rss_mb(),
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
