import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from mapper.store.models import AuditEvent, CommunityGroup, Coordinator, Postcode, Service, Ward

MAPPER = str(Path(sys.executable).parent / "mapper")


def test_mapper_help_lists_the_commands():
    out = subprocess.run([MAPPER, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("run", "routes", "shell", "init-db", "demo", "import-wards", "import-groups"):
        assert f"  {command} " in out


def test_mapper_run_refuses_the_placeholder_secret_key(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite"}
    result = subprocess.run(
        [MAPPER, "run", "--port", "5999"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_init_db_is_safe_to_run_twice(app):
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert "latest schema" in result.output


def counts(session):
    return {
        model.__name__: session.scalar(select(func.count()).select_from(model))
        for model in (Ward, CommunityGroup, Service, Coordinator, Postcode, AuditEvent)
    }


def test_demo_loads_the_fictional_borough_and_is_safe_to_run_twice(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    first = counts(session)
    assert first["Ward"] == 20 and first["CommunityGroup"] >= 300
    assert first["Coordinator"] == 4 and first["Service"] >= 20
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "groups: 0 added, 0 updated" in result.output
    assert counts(session) == first
    # every group landed in a ward, derived from its location
    assert session.scalar(select(func.count()).where(CommunityGroup.ward_id.is_(None))) == 0
