"""Time importing the 654 London wards and the 11,264 Trafford postcodes on each backend.

    .venv/bin/python benchmarks/imports.py [--runs 5] [--backends spatialite,postgis]

Each run imports into an empty database through the `mapper` commands in this process (the
interpreter's start-up is not counted), then imports the same file again (nothing changes).
Prints the median of the runs per backend; the last line is JSON. PostGIS is reached at
MAPPER_TEST_POSTGRES (as in the tests), in a database made for the run and dropped after.
"""

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

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


def timed(runner, args):
    start = time.perf_counter()
    result = runner.invoke(args=[str(a) for a in args])
    elapsed = time.perf_counter() - start
    if result.exit_code != 0:
        raise SystemExit(f"{args[0]} failed:\n{result.output}")
    return elapsed


def measure(backend, runs):
    figures = {}
    with database(backend) as url:
        app = create_app({"DATABASE_URL": url, "CHECK_SECRET_KEY": False})
        engine = app.extensions["mapper.db"].engine
        db.upgrade_schema(engine)
        runner = app.test_cli_runner()
        for case, args in CASES.items():
            first, again = [], []
            for _ in range(runs):
                empty(engine)
                first.append(timed(runner, args))
                again.append(timed(runner, args))
            figures[case] = {
                "seconds_median": round(statistics.median(first), 3),
                "again_seconds_median": round(statistics.median(again), 3),
                "runs": runs,
            }
            print(
                f"{backend:10} {case:26} import {statistics.median(first):6.2f} s   "
                f"again {statistics.median(again):6.2f} s   (median of {runs})"
            )
        app.extensions["mapper.db"].dispose()
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backends", default="spatialite,postgis")
    options = parser.parse_args()
    results = {b: measure(b, options.runs) for b in options.backends.split(",")}
    print(json.dumps({"benchmark": "imports", "cpus": os.cpu_count(), "results": results}))


if __name__ == "__main__":
    main()
