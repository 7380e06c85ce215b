"""Reading files (GeoJSON, GeoPackage, zipped Shapefile, CSV) into validated rows."""

from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from mapper import geo

DEMO_FOLDER = Path(__file__).resolve().parent.parent / "geodata" / "demo"


def read_frame(path, layer=None):
    """Read a vector file into a lon/lat GeoDataFrame."""
    frame = gpd.read_file(path, layer=layer)
    return frame.to_crs(geo.WGS84) if frame.crs else frame.set_crs(geo.WGS84)


def read_table(path):
    """Read a CSV as text cells, with empty cells as empty strings."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def split_list(cell):
    return [part.strip() for part in str(cell or "").split(";") if part.strip()]


def optional_date(cell):
    return date.fromisoformat(cell) if cell else None


def read_demo(folder=DEMO_FOLDER):
    """Read the demo borough: wards, groups, services, coordinators and postcodes."""
    folder = Path(folder)
    wards = read_frame(folder / "wards.geojson").rename(
        columns={"ward_code": "code", "ward_name": "name"}
    )

    groups = []
    for row in read_table(folder / "groups.csv").to_dict("records"):
        groups.append(
            {
                **{k: row[k] or None for k in GROUP_TEXT_FIELDS},
                "categories": split_list(row["categories"]),
                "wards_served": split_list(row["wards_served"]),
                "geom": Point(float(row["lon"]), float(row["lat"])),
                "last_verified": optional_date(row["last_verified"]),
                "active_from": optional_date(row["active_from"]),
                "active_until": optional_date(row["active_until"]),
            }
        )

    services = []
    for row in read_table(folder / "services.csv").to_dict("records"):
        services.append(
            {
                **{k: row[k] or None for k in SERVICE_TEXT_FIELDS},
                "categories": split_list(row["categories"]),
                "geom": Point(float(row["lon"]), float(row["lat"])),
            }
        )

    coordinators = []
    for row in read_frame(folder / "coordinators.geojson").to_dict("records"):
        coordinators.append(
            {
                "external_id": row["external_id"],
                "name": row["name"],
                "email": row["email"],
                "phone": row["phone"],
                "capacity": int(row["capacity"]),
                "base": Point(float(row["base_lon"]), float(row["base_lat"])),
                "patch": geo.as_multipolygon(row["geometry"]),
                "employer": row["employer"],
            }
        )

    postcodes = read_table(folder / "postcodes.csv")[["postcode", "lon", "lat"]]
    return {
        "wards": wards,
        "groups": groups,
        "services": services,
        "coordinators": coordinators,
        "postcodes": postcodes.to_dict("records"),
    }


GROUP_TEXT_FIELDS = (
    "external_id",
    "name",
    "description",
    "kind",
    "address",
    "postcode",
    "website",
    "contact_public",
    "meeting_times",
    "status",
)
SERVICE_TEXT_FIELDS = (
    "external_id",
    "name",
    "description",
    "provider",
    "delivery",
    "opening_hours",
    "eligibility",
    "address",
    "postcode",
    "website",
)
