"""``/healthz`` (the process lives) and ``/readyz`` (the database and Vault answer)."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from fluid_scim.errors import SecretStoreError
from fluid_scim.extensions import db
from fluid_scim.secrets import SecretStore

log = logging.getLogger(__name__)


def register_health(app: Flask) -> None:
    blueprint = Blueprint("health", __name__)

    @blueprint.get("/healthz")
    def healthz() -> tuple[dict[str, str], int]:
        return {"status": "ok"}, 200

    @blueprint.get("/readyz")
    def readyz() -> tuple[dict[str, object], int]:
        checks = {"database": check_database(), "vault": check_vault()}
        failing = {name: reason for name, reason in checks.items() if reason != "ok"}
        if failing:
            return {"status": "unavailable", "checks": checks, "reason": "; ".join(failing.values())}, 503
        return {"status": "ok", "checks": checks}, 200

    app.register_blueprint(blueprint)


def check_database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except SQLAlchemyError as exc:
        log.warning("readiness: database unreachable", extra={"error_type": type(exc).__name__})
        db.session.rollback()
        return "database unreachable"
    finally:
        db.session.remove()


def check_vault() -> str:
    store: SecretStore = current_app.extensions["fluid_secret_store"]
    try:
        store.check_health()
        return "ok"
    except SecretStoreError as exc:
        return str(exc)
