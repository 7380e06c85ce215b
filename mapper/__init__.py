"""Community Mapper: where community activity is and is not happening, ward by ward."""

from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides=None):
    """Build the app: defaults, then the environment, then `overrides`."""
    from mapper import (
        api,
        apidocs,
        auth,
        cli,
        config,
        db,
        errors,
        manage,
        ogc_api,
        openreferral_api,
        views,
    )

    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(config.DEFAULTS)
    app.config.from_mapping(config.from_environment())
    app.config.from_mapping(overrides or {})
    app.json.sort_keys = False
    if app.config.get("CHECK_SECRET_KEY", True):
        config.check(app.config)

    db.init_app(app)
    errors.init_app(app)
    app.register_blueprint(views.web)
    app.register_blueprint(api.api)
    app.register_blueprint(ogc_api.ogc)
    app.register_blueprint(openreferral_api.openreferral_api)
    app.register_blueprint(apidocs.apidocs)
    auth.init_app(app)
    manage.init_app(app)
    cli.init_app(app)
    return app
