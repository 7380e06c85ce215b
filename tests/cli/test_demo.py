"""The shipped demo data: fictional, reproducible, and shaped like a real borough."""

import filecmp
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from mapper.io.located import DEMO_FOLDER

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_demo_data.py"


def test_demo_is_generated_reproducibly_by_the_script(tmp_path):
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True)
    names = sorted(p.name for p in DEMO_FOLDER.iterdir() if p.suffix in (".csv", ".geojson"))
    assert names == sorted(p.name for p in tmp_path.iterdir())
    match, mismatch, errors = filecmp.cmpfiles(DEMO_FOLDER, tmp_path, names, shallow=False)
    assert mismatch == [] and errors == []


def test_demo_wards_tile_the_borough_with_population_and_deprivation():
    wards = gpd.read_file(DEMO_FOLDER / "wards.geojson")
    assert 18 <= len(wards) <= 22
    assert wards.ward_code.str.match(r"^E05\d{6}$").all() and wards.ward_code.is_unique
    assert wards.is_valid.all()
    projected = wards.to_crs(27700)
    assert abs(projected.area.sum() - projected.union_all().area) < 1  # no overlaps (m²)
    assert wards.population.between(1000, 30000).all()
    assert set(wards.imd_decile) == set(range(1, 11))


def test_demo_groups_spread_unevenly_across_the_categories():
    wards = gpd.read_file(DEMO_FOLDER / "wards.geojson")
    groups = pd.read_csv(DEMO_FOLDER / "groups.csv", keep_default_na=False)
    assert len(groups) >= 300
    categories = {c for cell in groups.categories for c in cell.split(";")}
    assert len(categories) == 16
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(groups.lon, groups.lat), crs=4326)
    per_ward = gpd.sjoin(points, wards, predicate="within").ward_code.value_counts()
    assert len(set(wards.ward_code) - set(per_ward.index)) >= 2  # some wards have none
    assert per_ward.max() >= 10 * per_ward.min()  # uneven among the wards that have some
    assert {"active", "pending", "closed"} <= set(groups.status)


def test_demo_has_three_or_four_coordinators_with_patches():
    coordinators = gpd.read_file(DEMO_FOLDER / "coordinators.geojson")
    assert 3 <= len(coordinators) <= 4
    assert (coordinators.geom_type == "MultiPolygon").all()
    assert shapely.is_valid(coordinators.geometry).all()


def test_demo_readme_says_it_is_fictional():
    assert "fictional" in (DEMO_FOLDER / "README.md").read_text().lower()
