import pytest

from mapper import config, create_app


def test_placeholder_secret_key_is_refused_outside_debug_and_testing(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        create_app({"DATABASE_URL": "sqlite:///:memory:"})


def test_placeholder_secret_key_is_allowed_in_testing_and_debug():
    create_app({"TESTING": True, "DATABASE_URL": "sqlite:///:memory:"})
    create_app({"DEBUG": True, "DATABASE_URL": "sqlite:///:memory:"})


def test_settings_come_from_the_environment_then_overrides(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("TILE_URL", "http://127.0.0.1/{z}/{x}/{y}.png")
    app = create_app({"DATABASE_URL": "sqlite:///:memory:", "TILE_URL": ""})
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["TILE_URL"] == ""


def test_default_database_is_spatialite_in_the_instance_folder(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"TESTING": True})
    assert app.config["DATABASE_URL"] == f"sqlite:///{app.instance_path}/mapper.sqlite"
