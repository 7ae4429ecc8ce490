"""Vault stops answering mid-run: SCIM keeps working, readiness and secret operations say so, all recovers."""

import os
import signal

import pytest
import requests

from tests.support.services import wait_until
from tests.support.tenants import make_tenant, scim_request


def _ready(live_server):
    return requests.get(f"{live_server.url}/readyz", timeout=10)


@pytest.mark.live
def test_vault_outage_and_recovery_without_restart(app, runner, live_server, vault):
    tenant = make_tenant(app)
    assert _ready(live_server).status_code == 200

    vault.pause()
    try:
        for _ in range(6):
            response = scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=tenant.token)
            assert response.status_code == 200, "configured organisations keep authenticating during a Vault outage"
        # A worker that dies and is re-spawned during the outage authenticates all the same.
        before = live_server.worker_pids()
        os.kill(min(before), signal.SIGKILL)
        wait_until(
            lambda: len(live_server.worker_pids()) == len(before) and live_server.worker_pids() != before,
            timeout=15,
            what="gunicorn re-spawning the killed worker",
        )
        for _ in range(6):
            response = scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=tenant.token)
            assert response.status_code == 200, "a worker started during the outage still authenticates"
        not_ready = _ready(live_server)
        assert not_ready.status_code == 503
        body = not_ready.json()
        assert body["checks"]["database"] == "ok"
        assert f"Vault at {vault.addr} did not answer in time" in body["reason"]

        failed = runner.invoke(args=["org", "token", "generate", tenant.slug])
        assert failed.exit_code == 1
        assert "Vault at" in failed.output and "the token was not changed" in failed.output
        still = scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=tenant.token)
        assert still.status_code == 200
    finally:
        vault.resume()

    wait_until(lambda: _ready(live_server).status_code == 200, timeout=15, what="readiness after Vault came back")
    rotated = runner.invoke(args=["org", "token", "generate", tenant.slug])
    assert rotated.exit_code == 0, rotated.output
    new_token = rotated.stdout.strip()
    assert scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=new_token).status_code == 200
    assert scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=tenant.token).status_code == 401
