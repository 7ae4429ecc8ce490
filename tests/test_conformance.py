"""The public SCIM compliance checker, scim2-tester, against a live gunicorn server: every check passes,
for an organisation with declared custom attributes (scim2-tester exercises what /Schemas advertises)."""

from __future__ import annotations

import collections

import pytest
from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from fluid_scim.services import directory_attributes, organisations
from tests.support.conformance import CONFORMANCE_RESULTS

CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
# Declared attributes in an extension of the organisation's own: scim2-tester reads /Schemas and
# writes, reads and patches every attribute it finds there. Left out: decimal and dateTime
# attributes and top-level declared names, for which scim2-tester generates values of the wrong
# type itself (a string for a decimal, a UUID for a dateTime) and fails on its own model; and
# multi-valued simple ones, where it expects an "add" to replace the list (RFC 7644 §3.5.2.1 says
# the value is added). tests/test_custom_attributes.py covers those.
DECLARED = (
    (f"{CUSTOM}:CustomAttribute", "string", False),
    (f"{CUSTOM}:badgeNumber", "integer", False),
    (f"{CUSTOM}:contractor", "boolean", False),
)


@pytest.mark.live
def test_scim2_tester_passes_every_check(app, live_server, tenant, database_url):
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        for path, type_, multi_valued in DECLARED:
            spec = directory_attributes.Spec(path, type_, multi_valued=multi_valued)
            directory_attributes.declare(organisation=organisation, spec=spec)
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
