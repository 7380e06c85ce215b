"""Community Mapper: where community activity is and is not happening, ward by ward."""

from flask import Flask


def create_app(overrides=None):
    """Build the app: defaults, then the environment, then `overrides`."""
    from mapper import cli, config, errors
    from mapper.api import docs, ogc, openreferral, v1
    from mapper.core import wards  # noqa: F401 - its flush hooks derive every record's ward
    from mapper.http import auth, caching, guards, headers, limits, logs, routing
    from mapper.http import mail as http_mail
    from mapper.store import db
    from mapper.web import (
        admin,
        audit_log,
        decisions,
        evidence,
        invitations,
        lists,
        manage,
        method,
        notes,
        notifications,
        packs,
        pages,
        passwords,
        places,
        public_text,
        reports,
        review,
        services,
        signin,
        tokens,
        upload,
        whats_changed,
    )

    app = Flask(
        __name__,
        instance_path=config.instance_path(),
        template_folder=str(config.shipped_folder("templates")),
        static_folder=str(config.shipped_folder("static")),
    )
    app.config.from_mapping(config.DEFAULTS)
    app.config.from_mapping(config.from_environment())
    app.config.from_mapping(overrides or {})
    app.json.sort_keys = False
    if app.config.get("CHECK_SECRET_KEY", True):
        config.check(app.config)

    logs.init_app(app)  # first: every request has its id before anything else runs
    db.init_app(app)
    routing.init_app(app)  # before the rest: it chooses the database of the request
    errors.init_app(app)
    guards.init_app(app)  # before the blueprints: their <int:…> ids are checked
    headers.init_app(app)
    limits.init_app(app)
    caching.init_app(app)  # a 304 or a kept answer needs no other hook after these
    app.register_blueprint(pages.web)
    app.register_blueprint(v1.api)
    app.register_blueprint(ogc.ogc)
    app.register_blueprint(openreferral.openreferral_api)
    app.register_blueprint(docs.apidocs)
    app.register_blueprint(signin.auth)
    upload.init_app(app)  # its hook runs first: an upload may be larger than other bodies
    auth.init_app(app)
    manage.init_app(app)
    lists.init_app(app)
    evidence.init_app(app)
    whats_changed.init_app(app)
    method.init_app(app)
    decisions.init_app(app)
    notes.init_app(app)
    review.init_app(app)
    packs.init_app(app)
    places.init_app(app)
    admin.init_app(app)
    audit_log.init_app(app)
    tokens.init_app(app)
    invitations.init_app(app)
    passwords.init_app(app)
    public_text.init_app(app)
    reports.init_app(app)
    services.init_app(app)
    notifications.init_app(app)
    http_mail.init_app(app)
    cli.init_app(app)
    return app
