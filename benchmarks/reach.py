"""Time reach (the share of residents within walking distance of each category) in the gap
analysis: one real local authority, and optionally a synthetic country.

    .venv/bin/python benchmarks/reach.py [--runs 5] [--backend spatialite|postgis]
    .venv/bin/python benchmarks/reach.py --backend postgis --synthetic \\
        --wards 8400 --groups 1000000 --postcodes 1700000

Trafford (the default): its 21 May 2023 wards, its 11,264 postcodes (ONS Postcode Directory,
/work/shared/geodata) and its 81 polling stations as groups, each station given one core
category in turn and food support too. Timed, several times each and without the cache:
`compute_gaps` for the borough (reach included), reach alone (`core.reach.reach_shares`),
and on PostGIS the same food-support reach as one SQL query (a box through the GIST index, then
ST_DWithin on geography) for comparison: reach alone does eight categories in less time than
the SQL does one. With --synthetic, the country of benchmarks/gaps.py plus
postcodes clustered like the groups, timed for every ward and for one local authority.
Prints medians and the load average; the last line is JSON.
"""

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import gaps as country  # noqa: E402 - benchmarks/gaps.py: the synthetic country

from mapper import create_app  # noqa: E402
from mapper.core import analysis, reach, ward_counts  # noqa: E402
from mapper.store import db  # noqa: E402
from mapper.store.models import (  # noqa: E402
    Category,
    CommunityGroup,
    Postcode,
    Ward,
    group_categories,
)
from tests.factories import TRAFFORD, polling_stations, run_cli  # noqa: E402
from tests.realdata import TRAFFORD_POSTCODES, TRAFFORD_WARDS_2023  # noqa: E402

GEODATA = Path("/work/shared/geodata")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("spatialite", "postgis"), default="spatialite")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--synthetic", action="store_true", help="a synthetic country instead")
    parser.add_argument("--wards", type=int, default=8400)
    parser.add_argument("--groups", type=int, default=1_000_000)
    parser.add_argument("--postcodes", type=int, default=1_700_000)
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args(argv)
    args.database, args.services, args.coordinators = None, args.groups // 20, args.wards // 4
    return args


def load_trafford(url):
    """Import Trafford's wards and postcodes, and its polling stations as groups: every one
    food support, and one more core category each, in turn."""
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "benchmark"})
    with app.app_context():
        run_cli(app, "import-wards", GEODATA / TRAFFORD_WARDS_2023, "--vintage", "2023", *TRAFFORD)
        run_cli(app, "import-postcodes", GEODATA / TRAFFORD_POSTCODES)
        session = db.get_session()
        polling_stations(session, GEODATA, "E08000009", categories=["food-support"])
        ids = dict(session.execute(select(Category.slug, Category.id)).all())
        groups = session.scalars(select(CommunityGroup.id).order_by(CommunityGroup.id)).all()
        core = analysis.CORE_CATEGORIES[1:]
        links = [
            {"group_id": g, "category_id": ids[core[i % len(core)]]} for i, g in enumerate(groups)
        ]
        session.execute(insert(group_categories), links)
        session.commit()
    app.extensions["mapper.db"].dispose()
    return "E08000009"


def load_country(url, args):
    """Build benchmarks/gaps.py's country, then postcodes clustered like its groups."""
    engine = db.make_engine(url)
    rng = np.random.default_rng(args.seed)
    with Session(engine) as session:
        towns = country.make_towns(np.random.default_rng(args.seed))
        country.build(session, args, rng)
        xy = country.sample_points(rng, args.postcodes, towns)
        rows = [
            {"postcode": f"{i // 1000:04X} {i % 1000:03d}", "lon": lon, "lat": lat}
            for i, (lon, lat) in enumerate(xy.tolist())
        ]
        for start in range(0, len(rows), country.CHUNK):
            session.execute(insert(Postcode), rows[start : start + country.CHUNK])
        session.commit()
        la_code = session.execute(
            select(Ward.la_code).group_by(Ward.la_code).order_by(Ward.la_code).limit(1)
        ).scalar()
    if not db.is_spatialite(engine):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return la_code


def reach_alone(session, la_codes):
    """Run reach_shares as compute_gaps does, for the wards of `la_codes` (all if empty)."""
    wards = analysis._scope(session, la_codes, ())
    params = analysis.resolve_params()
    analysed = analysis._category_ids(session, params["core_categories"], "core_categories")
    counted = ward_counts.counted_groups(None, (), [])
    geoms = shapely.from_wkb(wards["wkb"].tolist())
    return reach.reach_shares(session, geoms, wards["code"].tolist(), counted, analysed, params)


SQL_FOOD_REACH = """
SELECT count(*) FROM postcodes p
WHERE EXISTS (
  SELECT 1 FROM community_groups g
  JOIN group_categories l ON l.group_id = g.id
  JOIN categories c ON c.id = l.category_id AND c.slug = 'food-support'
  WHERE g.status = 'active'
    AND g.geom && ST_Expand(ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326), 0.02)
    AND ST_DWithin(g.geom::geography, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)::geography,
                   :metres, false)
)
AND p.lon BETWEEN :x0 AND :x1 AND p.lat BETWEEN :y0 AND :y1
"""


def sql_food_reach(session, la_code):
    """PostGIS only: the food-support reach of an authority's postcodes in one SQL query (the
    postcodes in the authority's box; a box of 0.02° round each, at least 667 m at British
    latitudes, goes through the GIST index, then ST_DWithin on geography)."""
    box = session.execute(
        select(
            func.min(func.ST_XMin(Ward.geom)),
            func.min(func.ST_YMin(Ward.geom)),
            func.max(func.ST_XMax(Ward.geom)),
            func.max(func.ST_YMax(Ward.geom)),
        ).where(Ward.la_code == la_code, Ward.current)
    ).one()
    metres = 800 / 1.2
    x0, y0, x1, y1 = box
    return session.execute(
        text(SQL_FOOD_REACH), {"metres": metres, "x0": x0, "y0": y0, "x1": x1, "y1": y1}
    ).scalar()


def main(argv=None):
    args = parse_args(argv)
    url, cleanup = country.database_url(args)
    try:
        return run(args, url)
    finally:
        cleanup()


def run(args, url):
    engine = db.make_engine(url)
    db.upgrade_schema(engine)
    engine.dispose()
    la_code = load_country(url, args) if args.synthetic else load_trafford(url)
    engine = db.make_engine(url)
    median = statistics.median
    load_before = os.getloadavg()
    result = {"backend": args.backend, "synthetic": args.synthetic, "runs": args.runs}
    with Session(engine) as session:  # no cache: every call computes
        result["n_postcodes"] = session.scalar(select(func.count()).select_from(Postcode))
        result["n_groups"] = session.scalar(select(func.count()).select_from(CommunityGroup))
        result["n_wards"] = session.scalar(select(func.count()).select_from(Ward))
        frame = analysis.compute_gaps(session, la_codes=[la_code])  # warm up
        result["la_code"], result["la_wards"] = la_code, len(frame)
        result["la_reach_core_mean"] = round(float(frame["reach_core"].mean()), 3)
        runs = {
            "la_analysis_s": lambda: analysis.compute_gaps(session, la_codes=[la_code]),
            "la_reach_only_s": lambda: reach_alone(session, [la_code]),
        }
        if not db.is_spatialite(engine):
            runs["la_sql_food_reach_only_s"] = lambda: sql_food_reach(session, la_code)
        if args.synthetic:
            runs["all_analysis_s"] = lambda: analysis.compute_gaps(session)
            runs["all_reach_only_s"] = lambda: reach_alone(session, [])
        for name, call in runs.items():
            cpu = []
            times = country.timed(call, args.runs if "all_" not in name else min(args.runs, 3), cpu)
            result[name] = round(median(times), 4)
            # This process's CPU seconds: the cost without the waiting a busy machine adds
            # (PostGIS's own processes are left out).
            result[name[:-2] + "_cpu_s"] = round(median(cpu), 4)
            result[name[:-2] + "_all_s"] = [round(t, 4) for t in times]
    engine.dispose()
    result["load_average_before"] = [round(v, 2) for v in load_before]
    result["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    for key, value in result.items():
        if not key.endswith("_all_s"):
            print(f"{key}: {value}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
