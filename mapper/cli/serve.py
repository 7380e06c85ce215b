"""`mapper serve`: the app under gunicorn, configured from the app's settings.

Each worker builds its own app (`mapper:create_app()`) after the fork, so no database
connection is ever shared between processes. The access log names each request's id
(`X-Request-ID`) and, with LOG_FORMAT=json, is one JSON object a line like the app's own log.
"""

import gc

import click
from flask import current_app
from flask.cli import with_appcontext
from gunicorn import glogging
from gunicorn.app.base import BaseApplication
from gunicorn.util import import_app

from mapper import config
from mapper.http import logs

APP_URI = "mapper:create_app()"
TEXT_ACCESS_FORMAT = (
    '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s" request_id=%({x-request-id}o)s'
)


class AccessLogger(glogging.Logger):
    """gunicorn's logger, writing JSON lines when LOG_FORMAT is json."""

    log_format = "text"

    def setup(self, cfg):
        """Set gunicorn's handlers up, then give them our JSON formatter if asked."""
        super().setup(cfg)
        if self.log_format == "json":
            for handler in (*self.error_log.handlers, *self.access_log.handlers):
                handler.setFormatter(logs.JsonFormatter())

    def access(self, resp, req, environ, request_time):
        """Log one request: the text line, or a JSON object of its fields."""
        if self.log_format != "json":
            return super().access(resp, req, environ, request_time)
        if not getattr(self, "access_log_enabled", True):
            return None
        atoms = self.atoms(resp, req, environ, request_time)
        fields = {
            "request_id": atoms.get("{x-request-id}o", "-"),
            "remote": atoms["h"],
            "method": atoms["m"],
            "path": atoms["U"],
            "query": atoms["q"],
            "status": int(str(atoms["s"])[:3]),
            "bytes": atoms["B"],
            "duration_ms": atoms["M"],
            "referer": atoms["f"],
            "user_agent": atoms["a"],
        }
        self.access_log.info("%s %s", atoms["r"], atoms["s"], extra=fields)
        return None


class Server(BaseApplication):
    """A gunicorn application serving `mapper:create_app()` with the given settings."""

    def __init__(self, options):
        self.options = options
        super().__init__()

    def load_config(self):
        """Apply the settings; turn gunicorn's control socket off where it has one."""
        for key, value in self.options.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:
            # One control socket per machine user by default: servers side by side would fight
            # over it, and nothing here uses it.
            self.cfg.set("control_socket_disable", True)

    def load(self):
        """Build the app in the worker, then move everything built so far out of the cyclic
        garbage collector's sight: the modules and the app live as long as the worker, and
        a full collection over them took about 100 ms of some worker's early request."""
        app = import_app(APP_URI)
        gc.collect()
        gc.freeze()
        return app


def gunicorn_options(settings, log_format):
    """Return gunicorn's settings from the app's SERVER_* settings."""
    access_log = settings["SERVER_ACCESS_LOG"] or None
    logger = type("MapperAccessLogger", (AccessLogger,), {"log_format": log_format})
    return {
        "bind": [b.strip() for b in str(settings["SERVER_BIND"]).split(",") if b.strip()],
        "workers": int(settings["SERVER_WORKERS"]),
        "threads": int(settings["SERVER_THREADS"]),
        "worker_class": "gthread" if int(settings["SERVER_THREADS"]) > 1 else "sync",
        "timeout": int(settings["SERVER_TIMEOUT"]),
        "graceful_timeout": int(settings["SERVER_GRACEFUL_TIMEOUT"]),
        "keepalive": int(settings["SERVER_KEEPALIVE"]),
        "accesslog": access_log,
        "access_log_format": TEXT_ACCESS_FORMAT,
        "errorlog": "-",
        "loglevel": str(settings["LOG_LEVEL"]).lower(),
        "logger_class": logger,
        "forwarded_allow_ips": settings["SERVER_FORWARDED_ALLOW_IPS"],
        "proc_name": "mapper",
        "preload_app": False,
    }


@click.command("serve")
@click.option("--bind", "-b", multiple=True, help="host:port to listen on (SERVER_BIND).")
@click.option("--workers", "-w", type=click.IntRange(1), help="Processes (SERVER_WORKERS).")
@click.option("--threads", type=click.IntRange(1), help="Threads a worker (SERVER_THREADS).")
@click.option("--timeout", type=click.IntRange(1), help="Seconds a request may take.")
@with_appcontext
def serve(bind, workers, threads, timeout):
    """Serve the app with gunicorn (the production server)."""
    settings = dict(current_app.config)
    try:
        config.check(settings)
        logs.formatter(settings["LOG_FORMAT"])
    except (config.ConfigError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    for key, value in (
        ("SERVER_BIND", ",".join(bind)),
        ("SERVER_WORKERS", workers),
        ("SERVER_THREADS", threads),
        ("SERVER_TIMEOUT", timeout),
    ):
        if value:
            settings[key] = value
    current_app.extensions["mapper.db"].dispose()  # the workers open their own
    Server(gunicorn_options(settings, settings["LOG_FORMAT"])).run()
