"""Prometheus /metrics: protected, counting every worker's requests, reporting dependency health."""

from __future__ import annotations

import re

import pytest
import requests

from tests.support.services import LiveServer
from tests.support.tenants import make_tenant, scim_request

METRICS_TOKEN = "metrics-" + "x" * 24


def _total(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_are_off_without_a_token_and_protected_with_one(app_factory):
    assert app_factory().test_client().get("/metrics").status_code == 404
    client = app_factory(metrics_token=METRICS_TOKEN).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200 and "fluid_database_up 1" in scraped.get_data(as_text=True)
    assert "fluid_vault_up 1" in scraped.get_data(as_text=True)


@pytest.mark.live
def test_every_worker_is_counted(app, database_url, vault, artifacts_dir):
    tenant = make_tenant(app)
    env = {
        "FLUID_DATABASE_URL": database_url,
        "VAULT_ADDR": vault.addr,
        "VAULT_TOKEN": vault.token,
        "FLUID_DOTENV": "",
        "FLUID_METRICS_TOKEN": METRICS_TOKEN,
    }
    server = LiveServer.start(env, artifacts_dir, workers=2)
    try:
        for _ in range(20):
            assert scim_request(server.url, "GET", "/Users", host=tenant.host, token=tenant.token).status_code == 200
        for _ in range(3):
            scim_request(server.url, "GET", "/Users", host=tenant.host, token="fscim_wrong")
        text = requests.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10).text
    finally:
        server.stop()
    ok = _total(text, "fluid_scim_requests_total", organisation=tenant.slug, operation="users.list", status="200")
    assert ok == 20
    assert _total(text, "fluid_scim_auth_failures_total", organisation=tenant.slug) == 3
    assert _total(text, "fluid_scim_request_seconds_count", operation="users.list") >= 23
    assert re.search(r"^fluid_vault_up 1$", text, re.M)
