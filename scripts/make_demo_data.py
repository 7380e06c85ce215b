"""Generate the fictional demo borough in geodata/demo/ (reproducible: fixed seed and dates).

Eastmere does not exist: it lies in the Irish Sea, west of Blackpool, so it can never be
mistaken for a real place or overlap real ward data. Run with the project's Python:

    .venv/bin/python scripts/make_demo_data.py [--out FOLDER]
"""

import argparse
import csv
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Point, Polygon, mapping

DEMO_FOLDER = Path(__file__).resolve().parent.parent / "geodata" / "demo"
OUT = DEMO_FOLDER  # where the files are written; --out changes it
SEED = 20261127
TODAY = date(2026, 11, 1)  # the demo's "now": fixed so that the output never changes
CENTRE_BNG = (285250.0, 451850.0)  # easting, northing: 53.95 N, 3.75 W
LA_CODE, LA_NAME, VINTAGE = "E06999901", "Eastmere (fictional)", "2024"

WARD_NAMES = [
    "Ashcombe",
    "Brackenfield",
    "Castlemoor",
    "Dunmere",
    "Eastbrook",
    "Fennick Green",
    "Greyhaven",
    "Holloway Cross",
    "Ivydale",
    "Juniper Hill",
    "Kestrel Vale",
    "Larkspur",
    "Millbrook",
    "Northwick",
    "Oakshott",
    "Pennyfold",
    "Quarry Bank",
    "Saltings",
    "Thornby",
    "Upper Wend",
]
# Per-ward activity weights: a realistic uneven spread, three wards with no groups at all.
NO_GROUPS = {"Castlemoor", "Quarry Bank", "Upper Wend"}
BUSY = {"Eastbrook", "Millbrook", "Northwick", "Ashcombe"}
# IMD deciles (1 = most deprived 10% nationally): the old port wards are the most deprived,
# and two of them have no groups, so the demo shows real "priority gaps".
IMD_DECILES = {
    "Castlemoor": 1,
    "Kestrel Vale": 1,
    "Quarry Bank": 2,
    "Thornby": 2,
    "Saltings": 3,
    "Juniper Hill": 3,
    "Dunmere": 4,
    "Larkspur": 4,
    "Pennyfold": 5,
    "Ivydale": 5,
    "Oakshott": 6,
    "Eastbrook": 6,
    "Holloway Cross": 7,
    "Upper Wend": 7,
    "Greyhaven": 8,
    "Brackenfield": 8,
    "Ashcombe": 8,
    "Millbrook": 9,
    "Northwick": 9,
    "Fennick Green": 10,
}

CATEGORY_TEMPLATES = {
    "food-support": ["{w} Community Pantry", "{w} Food Bank", "{w} Community Fridge"],
    "older-people": ["{w} Over-60s Club", "{w} Friendship Lunch", "{w} Silver Circle"],
    "children-young-people": ["{w} Youth Club", "{w} Toddler Group", "{w} Homework Club"],
    "mental-health-wellbeing": ["{w} Wellbeing Café", "{w} Men's Shed", "{w} Peer Support"],
    "physical-activity": ["{w} Walking Group", "{w} Parkrun Volunteers", "{w} Chair Yoga"],
    "arts-culture": ["{w} Community Choir", "{w} Art Group", "{w} Drama Society"],
    "environment-green-space": ["Friends of {w} Park", "{w} Gardeners", "{w} Litter Pickers"],
    "advice-money": ["{w} Money Advice Drop-in", "{w} Benefits Help", "{w} Debt Café"],
    "digital-inclusion": ["{w} Digital Buddies", "{w} Computer Club", "{w} Tech Help Desk"],
    "faith": ["St Aidan's, {w}", "{w} Gospel Hall", "{w} Interfaith Forum"],
    "disability": ["{w} Access Group", "{w} Inclusive Sports", "{w} Deaf Club"],
    "carers": ["{w} Carers' Café", "{w} Young Carers", "{w} Carers Support"],
    "employment-skills": ["{w} Job Club", "{w} Skills Exchange", "{w} Repair Café"],
    "social-befriending": ["{w} Befrienders", "{w} Coffee Morning", "{w} Knit and Natter"],
    "health": ["{w} Health Walks", "{w} Breathe Easy", "{w} Diabetes Support"],
    "volunteering": ["{w} Volunteer Hub", "{w} Good Neighbours", "{w} Time Bank"],
}
KINDS = ["charity", "cic", "faith group", "mutual aid", "informal group", "community association"]
MEETING = [
    "Mondays 10:00-12:00",
    "Tuesdays 18:30",
    "Wednesdays 14:00-16:00",
    "Thursdays 10:00",
    "Fridays 19:00",
    "Saturdays 09:00",
    "First Sunday of the month",
]
SERVICES = [
    ("Eastmere Central Library", "Eastmere Council", ["digital-inclusion", "arts-culture"]),
    ("{w} Library", "Eastmere Council", ["digital-inclusion", "arts-culture"]),
    ("{w} Food Bank", "Eastmere Food Partnership", ["food-support"]),
    ("{w} Citizens Advice Outreach", "Eastmere Advice Network", ["advice-money"]),
    (
        "Social Prescribing at {w} Surgery",
        "Eastmere Primary Care Network",
        ["health", "mental-health-wellbeing"],
    ),
    ("{w} Family Hub", "Eastmere Council", ["children-young-people"]),
    ("{w} Leisure Centre", "Eastmere Leisure Trust", ["physical-activity"]),
]
COORDINATORS = [  # fictional people: their names and contacts must never appear publicly
    ("Robin Fictitious-Example", ["Eastbrook", "Dunmere", "Greyhaven", "Holloway Cross"]),
    ("Sam Placeholder-Person", ["Millbrook", "Northwick", "Ivydale"]),
    ("Alex Invented-Name", ["Saltings", "Thornby", "Pennyfold", "Oakshott"]),
    ("Jo Madeup-Coordinator", ["Ashcombe", "Brackenfield", "Fennick Green"]),
]


def main():
    rng = np.random.default_rng(SEED)
    transformer = Transformer.from_crs(27700, 4326, always_xy=True)

    def to_lonlat(x, y):
        return transformer.transform(x, y)

    def project(geom):
        return shapely.transform(geom, lambda xy: np.column_stack(to_lonlat(xy[:, 0], xy[:, 1])))

    borough = make_borough()
    wards = make_wards(rng, borough)
    wards_ll = {name: project(poly) for name, poly in wards.items()}
    codes = {name: f"E05999{i + 1:03d}" for i, name in enumerate(sorted(wards))}

    OUT.mkdir(parents=True, exist_ok=True)
    write_wards(rng, wards, wards_ll, codes)
    postcodes = write_postcodes(rng, wards, to_lonlat)
    write_groups(rng, wards, codes, to_lonlat, postcodes)
    write_services(rng, wards, to_lonlat, postcodes)
    write_coordinators(rng, wards, to_lonlat, project)


def make_borough():
    """An irregular blob about 16 km by 11 km, in British National Grid metres."""
    theta = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    radius = 1 + 0.12 * np.sin(3 * theta) + 0.07 * np.cos(5 * theta + 1)
    x = CENTRE_BNG[0] + 8000 * radius * np.cos(theta)
    y = CENTRE_BNG[1] + 5500 * radius * np.sin(theta)
    return Polygon(np.column_stack([x, y]))


def make_wards(rng, borough):
    """Twenty wards: a Voronoi tessellation of spread-out seeds, clipped to the borough."""
    minx, miny, maxx, maxy = borough.bounds
    seeds = []
    while len(seeds) < len(WARD_NAMES):
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if borough.contains(p) and all(p.distance(s) > 2400 for s in seeds):
            seeds.append(p)
    # Sort seeds west to east, north to south, so that names read sensibly on the map.
    seeds.sort(key=lambda p: (round(-p.y / 4000), p.x))
    cells = shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=borough.buffer(5000))
    wards = {}
    for name, seed in zip(WARD_NAMES, seeds, strict=True):
        cell = next(c for c in cells.geoms if c.contains(seed))
        wards[name] = shapely.set_precision(cell.intersection(borough), 0.01)
    return wards


def random_point(rng, polygon):
    minx, miny, maxx, maxy = polygon.bounds
    while True:
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if polygon.buffer(-50).contains(p):
            return p


def lonlat(to_lonlat, point):
    lon, lat = to_lonlat(point.x, point.y)
    return round(lon, 6), round(lat, 6)


def write_wards(rng, wards, wards_ll, codes):
    features = []
    for name in sorted(wards, key=codes.get):
        decile = IMD_DECILES[name]
        rounded = shapely.transform(wards_ll[name], lambda xy: np.round(xy, 6))
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "ward_code": codes[name],
                    "ward_name": name,
                    "la_code": LA_CODE,
                    "la_name": LA_NAME,
                    "vintage": VINTAGE,
                    "population": int(rng.integers(6000, 14500)),
                    "imd_decile": decile,
                },
                "geometry": mapping(
                    MultiPolygon([rounded]) if rounded.geom_type == "Polygon" else rounded
                ),
            }
        )
    write_json("wards.geojson", {"type": "FeatureCollection", "features": features})


def write_postcodes(rng, wards, to_lonlat):
    """Fictional postcodes ('EM' is not a real postcode area), ten per ward."""
    rows = []
    for district, name in enumerate(sorted(wards), start=1):
        for _ in range(10):
            letters = "".join(rng.choice(list("ABDEFGHJLNPQRSTUWXYZ"), 2))
            code = f"EM{district} {rng.integers(1, 10)}{letters}"
            if code in {r["postcode"] for r in rows}:
                continue
            lon, lat = lonlat(to_lonlat, random_point(rng, wards[name]))
            rows.append({"postcode": code, "ward_name": name, "lon": lon, "lat": lat})
    write_csv("postcodes.csv", rows)
    return rows


def write_groups(rng, wards, codes, to_lonlat, postcodes):
    names = sorted(wards)
    weights = np.array(
        [0 if n in NO_GROUPS else 5 if n in BUSY else rng.uniform(0.4, 2.2) for n in names]
    )
    counts = rng.multinomial(330, weights / weights.sum())
    slugs = list(CATEGORY_TEMPLATES)
    rows, seen = [], set()
    for name, count in zip(names, counts, strict=True):
        ward_postcodes = [p["postcode"] for p in postcodes if p["ward_name"] == name]
        for _ in range(count):
            categories = list(rng.choice(slugs, size=rng.integers(1, 3), replace=False))
            title = rng.choice(CATEGORY_TEMPLATES[categories[0]]).format(w=name)
            while title in seen:
                title = f"{title} {rng.choice(['North', 'South', 'East', 'West', 'Two'])}"
            seen.add(title)
            ident = len(rows) + 1
            status = rng.choice(["active"] * 36 + ["pending"] * 2 + ["closed"] * 2)
            started = TODAY - timedelta(days=int(rng.integers(60, 3650)))
            verified = TODAY - timedelta(days=int(rng.integers(5, 700)))
            ended = (
                started + (TODAY - started) * float(rng.uniform(0.3, 0.95))
                if status == "closed"
                else None
            )
            served = (
                [
                    codes[n]
                    for n in rng.choice(names, size=rng.integers(1, 3), replace=False)
                    if n != name
                ]
                if rng.random() < 0.12
                else []
            )
            lon, lat = lonlat(to_lonlat, random_point(rng, wards[name]))
            rows.append(
                {
                    "external_id": f"EM-G{ident:04d}",
                    "name": title,
                    "description": f"A {categories[0].replace('-', ' ')} group meeting in {name}.",
                    "categories": ";".join(categories),
                    "kind": rng.choice(KINDS),
                    "lon": lon,
                    "lat": lat,
                    "address": f"{name} Community Centre",
                    "postcode": rng.choice(ward_postcodes),
                    "website": f"https://group{ident}.eastmere.example",
                    "contact_public": f"hello@group{ident}.eastmere.example",
                    "meeting_times": rng.choice(MEETING),
                    "status": status,
                    "last_verified": verified.isoformat(),
                    "active_from": started.isoformat(),
                    "active_until": ended.isoformat() if ended else "",
                    "wards_served": ";".join(served),
                }
            )
    write_csv("groups.csv", rows)


def write_services(rng, wards, to_lonlat, postcodes):
    names = sorted(wards)
    rows = []
    for template, provider, categories in SERVICES:
        hosts = (
            [None]
            if "{w}" not in template
            else rng.choice(names, size=int(rng.integers(3, 8)), replace=False)
        )
        for host in hosts:
            ward = host or "Eastbrook"
            lon, lat = lonlat(to_lonlat, random_point(rng, wards[ward]))
            rows.append(
                {
                    "external_id": f"EM-S{len(rows) + 1:03d}",
                    "name": template.format(w=ward),
                    "description": f"{template.format(w=ward)}, run by {provider}.",
                    "provider": provider,
                    "categories": ";".join(categories),
                    "lon": lon,
                    "lat": lat,
                    "delivery": rng.choice(["in person", "in person; online"]),
                    "opening_hours": rng.choice(
                        ["Mon-Fri 09:00-17:00", "Tue and Thu 10:00-14:00", "Sat 10:00-13:00"]
                    ),
                    "eligibility": rng.choice(
                        ["Open to all", "Eastmere residents", "Referral needed"]
                    ),
                    "address": f"{ward} High Street",
                    "postcode": next(p["postcode"] for p in postcodes if p["ward_name"] == ward),
                    "website": "https://services.eastmere.example",
                }
            )
    write_csv("services.csv", rows)


def write_coordinators(rng, wards, to_lonlat, project):
    features = []
    for i, (name, patch_wards) in enumerate(COORDINATORS, start=1):
        patch = shapely.union_all([wards[w] for w in patch_wards]).buffer(-150)
        patch_ll = project(patch)
        patch_ll = shapely.transform(patch_ll, lambda xy: np.round(xy, 6))
        lon, lat = lonlat(to_lonlat, random_point(rng, wards[patch_wards[0]]))
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "external_id": f"EM-C{i}",
                    "name": name,
                    "email": f"coordinator{i}@eastmere-council.example",
                    "phone": f"01632 96{i:04d}",
                    "employer": "Eastmere Council" if i % 2 else "Eastmere CVS (fictional)",
                    "capacity": int(rng.integers(25, 60)),
                    "base_lon": lon,
                    "base_lat": lat,
                },
                "geometry": mapping(
                    patch_ll if patch_ll.geom_type == "MultiPolygon" else MultiPolygon([patch_ll])
                ),
            }
        )
    write_json("coordinators.geojson", {"type": "FeatureCollection", "features": features})


def write_json(name, data):
    with open(OUT / name, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def write_csv(name, rows):
    with open(OUT / name, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEMO_FOLDER, help="folder to write into")
    OUT = parser.parse_args().out
    main()
