"""Time concurrent writers and a frozen database: the hardening's figures.

    .venv/bin/python benchmarks/concurrency.py [--runs 5] [--backends spatialite,postgis] [--frozen]

Per backend, against a real threaded server: 20 registrations posted at the same moment
(how many are stored, seconds until the last answer) and 20 parallel wrong passwords (how
many passwords were checked). With --frozen (root, Debian's pg_createcluster), a PostgreSQL
cluster of its own on port 5441-5449 is frozen with SIGSTOP and /healthz and /api/v1/wards
are timed (statement timeout 2 s, connect 2 s). Prints medians; the last line is JSON.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mapper.store import db  # noqa: E402
from mapper.store.models import Category  # noqa: E402
from tests import conftest  # noqa: E402
from tests.api.test_v1_concurrency import group_body, post_all  # noqa: E402
from tests.factories import make_token, make_user, two_wards  # noqa: E402
from tests.store import test_timeouts  # noqa: E402


def registrations(url, runs):
    """Return (median seconds, stored counts) of 20 concurrent POSTs, each run on an empty db."""
    seconds, stored = [], []
    for _ in range(runs):
        app = conftest.make_app(url)
        engine = app.extensions["mapper.db"].engine
        with engine.connect() as conn:
            seeded = set(conn.execute(select(Category.slug)).scalars())
        conftest.empty_database(engine, seeded)
        with app.app_context(), test_timeouts.served(app) as base:
            session = db.get_session()
            two_wards(session)
            headers = make_token(session, make_user(session, "ed@lio.example", trusted=True))
            start = time.monotonic()
            answers = post_all(f"{base}/api/v1/groups", [group_body(i) for i in range(20)], headers)
            seconds.append(time.monotonic() - start)
            stored.append(sum(1 for status, _ in answers if status == 201))
        app.extensions["mapper.db"].dispose()
    return statistics.median(seconds), stored


def frozen(runs):
    """Return median seconds of /healthz and /api/v1/wards with the database frozen."""
    with test_timeouts.frozen_postgres() as (url, freeze, thaw):
        app = conftest.make_app(url, **test_timeouts.TIMEOUTS)
        with app.app_context():
            two_wards(db.get_session())
        with test_timeouts.served(app) as base:
            assert test_timeouts.timed_get(f"{base}/api/v1/wards")[0] == 200
            freeze()
            health = [test_timeouts.timed_get(f"{base}/healthz") for _ in range(runs)]
            api = [test_timeouts.timed_get(f"{base}/api/v1/wards") for _ in range(runs)]
            thaw()
        app.extensions["mapper.db"].dispose()
    return {
        "healthz_s": statistics.median(s for _, s in health),
        "healthz_statuses": sorted({st for st, _ in health}),
        "api_s": statistics.median(s for _, s in api),
        "api_statuses": sorted({st for st, _ in api}),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backends", default="spatialite,postgis")
    parser.add_argument("--frozen", action="store_true")
    args = parser.parse_args()
    figures = {}
    for backend in args.backends.split(","):
        if backend == "spatialite":
            tmp = Path(f"/tmp/mapper-bench-{time.time_ns()}")
            url = f"sqlite:///{tmp}/mapper.sqlite"
            db.upgrade_schema(db.make_engine(url))
            figures[backend] = registrations(url, args.runs)
        else:
            with conftest.new_postgis_database("mapper_bench") as url:
                db.upgrade_schema(db.make_engine(url))
                figures[backend] = registrations(url, args.runs)
        seconds, stored = figures[backend]
        print(f"{backend}: 20 concurrent registrations, median {seconds:.2f} s, stored {stored}")
    result = {b: {"median_s": s, "stored": n} for b, (s, n) in figures.items()}
    if args.frozen:
        result["frozen_postgres"] = frozen(args.runs)
        print(f"frozen PostgreSQL: {result['frozen_postgres']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
