"""Time a 50,000-row upload of groups through the web pages: its preview and its import.

    .venv/bin/python benchmarks/upload.py [--rows 50000] [--runs 3] [--backends spatialite,postgis]

The file is a CSV of made-up groups at random points inside Manchester's 32 real wards (from
the shared geodata), a tenth of them placed by a real Trafford postcode instead (in Trafford's
21 wards), and 1% with a point outside every ward (rejected). Each run starts from a database
holding only the wards,
the postcodes and a trusted editor, and goes through the app as a browser does (Flask's test
client, multipart form, CSRF): POST /groups/upload (stores the file and previews every row's
fate) and POST /groups/upload/<token>/import (the import, one transaction). Prints the
median of the runs per backend; the last line is JSON. PostGIS is reached at
MAPPER_TEST_POSTGRES, in a database made for the run and dropped after.
"""

import argparse
import io
import json
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from imports import GEODATA, database, empty  # noqa: E402

from mapper import create_app  # noqa: E402
from mapper.core import accounts, records  # noqa: E402
from mapper.core.wards import save_wards  # noqa: E402
from mapper.store import db  # noqa: E402
from mapper.store.models import CommunityGroup, User  # noqa: E402

PASSWORD = "benchmark password"  # noqa: S105
CATEGORIES = ["food-support", "older-people", "arts-culture", "faith", "health"]


def make_csv(rows, seed=14):
    """Return CSV bytes of `rows` made-up groups, and Trafford's postcodes as rows."""
    wards = gpd.read_file(GEODATA / "manchester/manchester_wards_may2023_bgc_wgs84.geojson")
    area = shapely.union_all(wards.geometry.values)
    postcodes = pd.read_csv(GEODATA / "trafford/trafford_postcodes_onspd_feb2025.csv")
    rng = random.Random(seed)
    min_lon, min_lat, max_lon, max_lat = area.bounds
    prepared = shapely.prepared.prep(area)
    lines = ["name,categories,lon,lat,postcode,description"]
    for i in range(rows):
        category = CATEGORIES[i % len(CATEGORIES)]
        if i % 100 == 99:
            lon, lat, postcode = 0.5, 51.5, ""  # outside every ward: rejected
        elif i % 10 == 0:
            lon, lat, postcode = "", "", rng.choice(postcodes["postcode"].tolist()[:2000])
        else:
            while True:
                lon, lat = rng.uniform(min_lon, max_lon), rng.uniform(min_lat, max_lat)
                if prepared.contains(shapely.Point(lon, lat)):
                    break
            lon, lat, postcode = f"{lon:.6f}", f"{lat:.6f}", ""
        lines.append(f"Benchmark group {i},{category},{lon},{lat},{postcode},Made up for timing")
    return ("\n".join(lines) + "\n").encode(), postcodes


def prepare(app, postcodes):
    """Load Manchester's and Trafford's wards, Trafford's postcodes and a trusted editor."""
    with app.app_context():
        session = db.get_session()
        wards = pd.concat(
            [
                gpd.read_file(GEODATA / "manchester/manchester_wards_may2023_bgc_wgs84.geojson"),
                gpd.read_file(GEODATA / "trafford/trafford_wards_may2023_bfc_wgs84.geojson"),
            ]
        )
        wards = wards.rename(
            columns={
                "area_code": "code",
                "area_name": "name",
                "local_authority_area_code": "la_code",
                "local_authority_area_name": "la_name",
            }
        )[["code", "name", "la_code", "la_name", "geometry"]]
        wards = wards.fillna({"la_code": "E08000009", "la_name": "Trafford"})  # its file has none
        wards["vintage"] = "2023"
        save_wards(session, wards)
        records.save_postcodes(session, postcodes[["postcode", "lon", "lat"]].to_dict("records"))
        org = accounts.get_or_create_organisation(session, "Benchmark CVS")
        org.trusted = True
        session.add(
            User(
                email="bench@cvs.example",
                password_hash=accounts.hash_password(PASSWORD),
                role="editor",
                organisation=org,
            )
        )
        session.commit()


def csrf(client, url):
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def one_run(url, body, postcodes):
    """Return (preview seconds, import seconds, groups stored) for one upload."""
    app = create_app(
        {"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "bench", "CHECK_SECRET_KEY": False}
    )
    engine = app.extensions["mapper.db"].engine
    db.upgrade_schema(engine)
    empty(engine)
    prepare(app, postcodes)
    with tempfile.TemporaryDirectory() as instance:
        app.config["UPLOAD_FOLDER"] = instance
        client = app.test_client()
        token = csrf(client, "/sign-in")
        client.post(
            "/sign-in",
            data={"email": "bench@cvs.example", "password": PASSWORD, "csrf_token": token},
        )
        data = {"csrf_token": csrf(client, "/groups/upload"), "file": (io.BytesIO(body), "g.csv")}
        start = time.perf_counter()
        response = client.post("/groups/upload", data=data, content_type="multipart/form-data")
        preview = time.perf_counter() - start
        if response.status_code != 302:
            raise SystemExit(f"the preview failed: {response.status_code}")
        location = response.headers["Location"]
        token = csrf(client, location)
        start = time.perf_counter()
        response = client.post(f"{location}/import", data={"csrf_token": token})
        imported = time.perf_counter() - start
        if response.status_code != 302:
            raise SystemExit(f"the import failed: {response.status_code}")
    with app.app_context():
        stored = db.get_session().scalar(select(func.count(CommunityGroup.id)))
    app.extensions["mapper.db"].dispose()
    return preview, imported, stored


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="spatialite,postgis")
    args = parser.parse_args()
    body, postcodes = make_csv(args.rows)
    print(f"{args.rows} rows, {len(body) / 1e6:.1f} MB of CSV", file=sys.stderr)
    results = {}
    for backend in args.backends.split(","):
        previews, imports_ = [], []
        with database(backend) as url:
            for run in range(args.runs):
                preview, imported, stored = one_run(url, body, postcodes)
                previews.append(preview)
                imports_.append(imported)
                print(
                    f"{backend} run {run + 1}: preview {preview:.1f} s, import {imported:.1f} s, "
                    f"{stored} groups stored",
                    file=sys.stderr,
                )
        results[backend] = {
            "rows": args.rows,
            "stored": stored,
            "preview_s_median": round(statistics.median(previews), 2),
            "import_s_median": round(statistics.median(imports_), 2),
            "runs": args.runs,
        }
        print(
            f"{backend}: preview {results[backend]['preview_s_median']} s, import "
            f"{results[backend]['import_s_median']} s (median of {args.runs})"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
