"""The Flask application factory: ``flask --app app …`` and ``wsgi.py`` both start here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from fluid_scim.admin_console import register_admin_console
from fluid_scim.cli import register_cli
from fluid_scim.config import load_settings, read_dotenv_if_development
from fluid_scim.database import KEPT_READING, engine_options, prepare_database_url
from fluid_scim.extensions import db, migrate
from fluid_scim.logs import configure_logging
from fluid_scim.repositories.scim import keep_records
from fluid_scim.repositories.scoping import install_tenant_guard
from fluid_scim.scim_http import SCIM_PREFIX, register_scim
from fluid_scim.secrets.factory import build_secret_store, warm_secret_store
from fluid_scim.services.recorder import Recorder
from fluid_scim.web.body_limit import ChunkedBodyLimit
from fluid_scim.web.health import register_health
from fluid_scim.web.metrics import register_metrics
from fluid_scim.web.request_log import register_request_logging
from fluid_scim.web.security_headers import register_security_headers
from graphql_admin.view import register_graphql

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class FluidFlask(Flask):
    """Flask, with the synchronous form of each view and hook found once instead of at every call.

    ``Flask.ensure_sync`` asks ``inspect.iscoroutinefunction`` of every before-request, after-request and
    teardown function and of the view, at every request: ten calls for a SCIM GET. The answer for a
    function never changes, so it is kept (for at most ``SYNC_FORMS_KEPT`` callables; beyond that, and
    for a callable that cannot be a dictionary key, Flask's own answer is used each time).
    """

    SYNC_FORMS_KEPT = 1024

    def __init__(self, import_name: str, **kwargs: Any) -> None:
        super().__init__(import_name, **kwargs)
        self._sync_forms: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return self._sync_forms[func]
        except KeyError:
            form = super().ensure_sync(func)
            if len(self._sync_forms) < self.SYNC_FORMS_KEPT:
                self._sync_forms[func] = form
            return form
        except TypeError:  # not hashable
            return super().ensure_sync(func)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Defaults, then the environment (and ``.env`` in development), then ``test_config``.

    ``test_config`` keys are :class:`~fluid_scim.config.Settings` field names. A bad setting
    raises :class:`~fluid_scim.config.ConfigError` naming it.
    """
    read_dotenv_if_development()
    settings = load_settings(overrides=test_config)
    configure_logging(settings.log_level)

    app = FluidFlask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=prepare_database_url(settings.database_url),
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url),
        JSON_SORT_KEYS=False,
        # Bodies over the advertised Bulk maxPayloadSize are refused (413) before they are read.
        MAX_CONTENT_LENGTH=settings.scim_max_payload_bytes,
    )
    app.extensions["fluid_settings"] = settings
    # A chunked body (no Content-Length) is held to the same limit: 413, not a cut body read as whole.
    limited = ChunkedBodyLimit(app.wsgi_app, limit=settings.scim_max_payload_bytes, scim_prefix=SCIM_PREFIX)
    app.wsgi_app = limited  # type: ignore[method-assign]  # Flask's documented middleware hook
    if settings.trust_proxy:
        hops = settings.trust_proxy
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]

    db.init_app(app)
    install_tenant_guard(db.session)
    migrate.init_app(app, db, directory=str(_MIGRATIONS))
    store = build_secret_store(settings)
    app.extensions["fluid_secret_store"] = store
    warm_secret_store(store)

    keep_records(settings.kept_records)
    app.extensions["fluid_recorder"] = Recorder(
        app, settings.record_flush_seconds, sample_per_minute=settings.refusal_events_per_minute
    )

    register_request_logging(app)
    register_security_headers(app)
    register_health(app)
    register_metrics(app)
    register_scim(app)
    register_graphql(app)
    register_admin_console(app)
    register_cli(app)
    return app



def reset_after_fork(app: Flask, *, threads: int = 1) -> None:
    """Drop connections inherited from gunicorn's master (``preload_app``); workers open their own.

    The master loads the app once, so every worker, including one re-spawned during a Vault
    outage, inherits the token digest key without asking Vault.
    """
    with app.app_context():
        db.engine.dispose(close=False)
    if threads <= 1:
        # One request at a time: the worker keeps its reading connection between requests. With several
        # threads each would keep one out of the pool for good, and with the writes' connections they could
        # exhaust it: such a worker checks one out per reading request.
        KEPT_READING.switch_on()
    app.extensions["fluid_secret_store"].reset_connections()
    app.extensions["fluid_recorder"].reset_after_fork()


def close_app(app: Flask) -> None:
    """A worker's last words (gunicorn ``worker_exit``): write the pending events and status counts."""
    app.extensions["fluid_recorder"].close()
    KEPT_READING.switch_off()
