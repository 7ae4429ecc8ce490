"""The public SCIM compliance checker, scim2-tester, against a live gunicorn server: every check passes."""

from __future__ import annotations

import collections

import pytest
from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from tests.support.conformance import CONFORMANCE_RESULTS


@pytest.mark.live
def test_scim2_tester_passes_every_check(live_server, tenant, database_url):
    headers = {"Authorization": f"Bearer {tenant.token}", "Host": tenant.host}
    with Client(base_url=f"{live_server.url}/scim/v2", headers=headers, timeout=30) as http:
        results = check_server(SyncSCIMClient(http))
    counts = collections.Counter(result.status for result in results)
    backend = database_url.split(":", 1)[0]
    CONFORMANCE_RESULTS[f"scim2-tester on {backend}"] = (
        f"scim2-tester on {backend}: {counts[Status.SUCCESS]} passed, {counts[Status.ERROR]} failed,"
        f" {counts[Status.SKIPPED]} skipped"
    )
    failures = [f"{result.title}: {result.reason}" for result in results if result.status == Status.ERROR]
    assert not failures, "\n".join(failures)
    assert counts[Status.SUCCESS] >= 100
