"""Prometheus metrics at ``/metrics``, for operators only.

Off the public surface: it answers only with ``Authorization: Bearer <FLUID_METRICS_TOKEN>`` (404
without the setting, 401 with a wrong credential). Under gunicorn every worker writes its samples to
``PROMETHEUS_MULTIPROC_DIR`` (set by ``gunicorn.conf.py``) and a scrape adds them all up.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

from fluid_scim.config import Settings
from fluid_scim.web.health import check_database, check_vault

REQUESTS = Counter(
    "fluid_scim_requests_total", "SCIM requests by organisation, operation and status", ["organisation", "operation", "status"]
)
LATENCY = Histogram(
    "fluid_scim_request_seconds",
    "SCIM request latency by operation",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
AUTH_FAILURES = Counter("fluid_scim_auth_failures_total", "Refused SCIM credentials (401) by organisation", ["organisation"])
RATE_LIMITED = Counter("fluid_scim_rate_limited_total", "SCIM requests refused with 429 by organisation", ["organisation"])


# The labelled series of REQUESTS and LATENCY, found once each: ``labels()`` takes a lock and checks
# its arguments at every call. Bounded: past the bound a series is looked up as before.
_SERIES_KEPT = 10_000
_requests_series: dict[tuple[str, str, int], Any] = {}
_latency_series: dict[str, Any] = {}


def observe(*, organisation: str, operation: str, status: int, seconds: float) -> None:
    key = (organisation, operation, status)
    counted = _requests_series.get(key)
    if counted is None:
        counted = REQUESTS.labels(organisation, operation, str(status))
        if len(_requests_series) < _SERIES_KEPT:
            _requests_series[key] = counted
    counted.inc()
    timed = _latency_series.get(operation)
    if timed is None:
        timed = _latency_series.setdefault(operation, LATENCY.labels(operation))
    timed.observe(seconds)
    if status == 401:
        AUTH_FAILURES.labels(organisation).inc()
    if status == 429:
        RATE_LIMITED.labels(organisation).inc()


def register_metrics(app: Flask) -> None:
    blueprint = Blueprint("metrics", __name__)

    @blueprint.get("/metrics")
    def metrics() -> Response:
        settings: Settings = current_app.extensions["fluid_settings"]
        if not settings.metrics_token:
            abort(404)
        presented = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(presented.encode(), settings.metrics_token.encode()):
            return Response("unauthorized\n", status=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        body = _samples() + _health()
        return Response(body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

    app.register_blueprint(blueprint)


def _samples() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()


def _health() -> bytes:
    """Dependency health measured at scrape time (so every scrape sees the present)."""
    lines = [
        "# HELP fluid_database_up Whether the database answers (1) or not (0).",
        "# TYPE fluid_database_up gauge",
        f"fluid_database_up {int(check_database() == 'ok')}",
        "# HELP fluid_vault_up Whether Vault answers with fluid-scim's credentials (1) or not (0).",
        "# TYPE fluid_vault_up gauge",
        f"fluid_vault_up {int(check_vault() == 'ok')}",
    ]
    return ("\n".join(lines) + "\n").encode()
