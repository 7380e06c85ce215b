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


@pytest.mark.parametrize(("value", "expected"), [("1048576", 1048576), ("50_000", 50000)])
def test_upload_limits_come_from_the_environment_as_numbers(value, expected):
    settings = config.from_environment({"UPLOAD_MAX_ROWS": value})
    assert settings == {"UPLOAD_MAX_ROWS": expected}


def test_an_upload_limit_that_is_not_a_number_stops_the_app_naming_it():
    with pytest.raises(config.ConfigError, match="UPLOAD_MAX_BYTES must be a whole number"):
        config.from_environment({"UPLOAD_MAX_BYTES": "20MB"})


@pytest.mark.parametrize("key", config.FLOAT_KEYS)
def test_database_timeouts_come_from_the_environment_as_seconds(key):
    assert config.from_environment({key: "2.5"}) == {key: 2.5}
    with pytest.raises(config.ConfigError, match=f"{key} must be a number of seconds"):
        config.from_environment({key: "ten"})


def test_rate_limits_come_from_the_environment():
    settings = config.from_environment({"RATE_LIMIT_SIGN_IN": "5 per minute"})
    assert settings == {"RATE_LIMIT_SIGN_IN": "5 per minute"}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"MAIL_BACKEND": "pigeon"}, "MAIL_BACKEND must be smtp or folder"),
        ({"MAIL_BACKEND": "smtp"}, "set SMTP_URL"),
        ({"MAIL_BACKEND": "smtp", "SMTP_URL": "mail.example.org"}, "set SMTP_URL"),
    ],
)
def test_mail_settings_that_cannot_work_stop_the_app_naming_them(settings, message):
    with pytest.raises(config.ConfigError, match=message):
        create_app({"TESTING": True, "DATABASE_URL": "sqlite:///:memory:", **settings})


def test_mail_settings_come_from_the_environment():
    settings = config.from_environment(
        {"MAIL_BACKEND": "smtp", "SMTP_URL": "smtp://mail:25", "RESET_MINUTES": "30"}
    )
    assert settings == {"MAIL_BACKEND": "smtp", "SMTP_URL": "smtp://mail:25", "RESET_MINUTES": 30}


def test_the_instance_folder_comes_from_mapper_instance_path(monkeypatch, tmp_path):
    monkeypatch.setenv("MAPPER_INSTANCE_PATH", str(tmp_path / "data"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"TESTING": True})
    assert app.instance_path == str(tmp_path / "data")
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path}/data/mapper.sqlite"


def test_a_source_checkout_keeps_its_instance_templates_and_static_at_the_top(monkeypatch):
    monkeypatch.delenv("MAPPER_INSTANCE_PATH", raising=False)
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite:///:memory:"})
    top = config.PACKAGE.parent
    assert app.instance_path == str(top / "instance")
    assert app.template_folder == str(top / "templates")
    assert app.static_folder == str(top / "static")
