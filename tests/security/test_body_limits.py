"""A body over the payload limit is refused with 413 whether or not it is sent chunked (RFC 7644 §3.7.4
names the limit: ServiceProviderConfig's bulk ``maxPayloadSize``); nothing of it is stored."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from tests.support.tenants import Tenant
from tests.support.urns import USER_URN

pytestmark = pytest.mark.live


def _body(size: int) -> bytes:
    name = f"big-{uuid.uuid4().hex[:8]}@example.com"
    return json.dumps({"schemas": [USER_URN], "userName": name, "nickName": "x", "padding": "y" * size}).encode()


def _headers(tenant: Tenant) -> dict[str, str]:
    return {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}", "Content-Type": "application/scim+json"}


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_is_413(live_server, tenant, chunked):
    body = _body(2 * 1_048_576)
    data = (body[start : start + 65536] for start in range(0, len(body), 65536)) if chunked else body
    response = requests.post(f"{live_server.url}/scim/v2/Users", data=data, headers=_headers(tenant), timeout=30)
    assert response.status_code == 413, response.text[:300]
    assert response.json()["status"] == "413"
    listed = requests.get(f"{live_server.url}/scim/v2/Users", headers=_headers(tenant), timeout=30).json()
    assert listed["totalResults"] == 0


def test_a_chunked_body_within_the_limit_is_read_whole(live_server, tenant):
    # 100 emails, as many as a user may have (docs/scim.md, "Limits"), each near the longest value.
    emails = [{"value": f"alias-{index:05d}-{'y' * 990}@example.com"} for index in range(100)]
    body = json.dumps({"schemas": [USER_URN], "userName": f"whole-{uuid.uuid4().hex[:8]}", "emails": emails}).encode()
    assert len(body) > 100_000
    chunks = (body[start : start + 4096] for start in range(0, len(body), 4096))
    response = requests.post(f"{live_server.url}/scim/v2/Users", data=chunks, headers=_headers(tenant), timeout=30)
    assert response.status_code == 201, response.text[:300]
    assert response.json()["emails"] == emails
