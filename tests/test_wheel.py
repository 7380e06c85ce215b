"""The built wheel is the whole app: installed into a fresh virtualenv, away from the checkout,
it migrates a database, loads the demo and serves pages from its own templates and static files.

The fresh virtualenv is made from /usr/bin/python3 (which can load mod_spatialite) and sees the
test environment's third-party packages through a .pth file, so nothing is downloaded. Such a
file only puts that folder on sys.path, it does not run the editable install's hook there, and
the new environment's own site-packages come first: `mapper` is the wheel's.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHON = "/usr/bin/python3"
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "build", "dist", "instance", "test-artifacts",
    "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache",
)  # fmt: skip

pytestmark = pytest.mark.slow


def run(args, **kwargs):
    """Run a command, failing the test with its output when it fails."""
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """Build the wheel from a clean copy of the source tree (so no stale build/ creeps in)."""
    source = tmp_path_factory.mktemp("source") / "community-mapper"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    out = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", out, source])
    (built,) = out.glob("community_mapper-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """A fresh virtualenv with the wheel installed; returns its folder."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    run([PYTHON, "-m", "venv", "--without-pip", venv])
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python"]
    run([*pip, venv / "bin" / "python", "install", "--no-deps", "--no-index", wheel])
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = run([venv / "bin" / "python", "-c", purelib])
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site.stdout.strip()) / "test-dependencies.pth").write_text("\n".join(sorted(here)) + "\n")
    return venv


def clean_environment(**settings):
    """The environment without anything that would point the app back at the checkout."""
    names = ("DATABASE_URL", "SECRET_KEY", "PYTHONPATH", "MAPPER_INSTANCE_PATH", "FLASK_APP")
    env = {k: v for k, v in os.environ.items() if k not in names}
    return {**env, **settings}


def test_the_wheel_carries_templates_static_files_demo_data_and_migrations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "mapper/templates/base.html",
        "mapper/static/favicon.svg",
        "mapper/geodata/demo/wards.geojson",
        "mapper/geodata/demo/groups.csv",
        "mapper/store/migrations/env.py",
        "mapper/store/migrations/versions/0017_evidence.py",
        "mapper/docs/gap-analysis.md",  # the method pages (/method)
    ):
        assert expected in names
    assert not any(
        name.startswith(("templates/", "static/", "geodata/", "docs/")) for name in names
    )


PAGE_CHECK = """
import json
import mapper
from mapper import create_app
app = create_app({"TESTING": True})
client = app.test_client()
home = client.get("/")
ward = "E05999001"  # Ashcombe, the first ward of the demo
print(json.dumps({
    "package": mapper.__file__,
    "templates": app.template_folder,
    "instance": app.instance_path,
    "database": app.config["DATABASE_URL"],
    "home": home.status_code,
    "ward": client.get(f"/wards/{ward}").status_code,
    "css": client.get("/static/favicon.svg").status_code,
    "method": client.get("/method").status_code,
}))
"""


def test_the_installed_wheel_migrates_loads_the_demo_and_serves_pages(installed, tmp_path):
    mapper = installed / "bin" / "mapper"
    env = clean_environment()
    run([mapper, "init-db"], cwd=tmp_path, env=env)
    demo = run([mapper, "demo"], cwd=tmp_path, env=env)
    assert "wards: " in demo.stderr and "groups: " in demo.stderr
    checked = run([installed / "bin" / "python", "-c", PAGE_CHECK], cwd=tmp_path, env=env)
    found = json.loads(checked.stdout.strip().splitlines()[-1])
    assert found["package"].startswith(str(installed))
    assert found["templates"].startswith(str(installed))
    # Flask's instance folder for an installed package: PREFIX/var/mapper-instance.
    assert Path(found["instance"]) == installed / "var" / "mapper-instance"
    assert found["database"] == f"sqlite:///{installed}/var/mapper-instance/mapper.sqlite"
    assert (found["home"], found["ward"], found["css"], found["method"]) == (200,) * 4


def test_the_installed_wheel_serves_the_demo_with_gunicorn(installed, tmp_path):
    from tests.cli.test_serve import get, gunicorn

    url = f"sqlite:///{tmp_path / 'served.sqlite'}"
    env = clean_environment(DATABASE_URL=url)
    run([installed / "bin" / "mapper", "demo"], cwd=tmp_path, env=env)
    with gunicorn(url, tmp_path, mapper=installed / "bin" / "mapper") as (base, _process):
        status, headers, page = get(f"{base}/wards/E05999001")
        assert (status, headers["Server"]) == (200, "gunicorn")
        assert b"Ashcombe" in page
        assert get(f"{base}/static/favicon.svg")[0] == 200


def test_the_instance_folder_is_where_mapper_instance_path_says(installed, tmp_path):
    folder = tmp_path / "data"
    env = clean_environment(MAPPER_INSTANCE_PATH=str(folder))
    run([installed / "bin" / "mapper", "init-db"], cwd=tmp_path, env=env)
    assert (folder / "mapper.sqlite").is_file()
