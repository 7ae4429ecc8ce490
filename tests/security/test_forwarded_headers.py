"""Forwarded headers are believed exactly when ``FLUID_TRUST_PROXY`` says so: with it off (the test
server's setting), a client on loopback cannot make the server believe it was reached over https."""

from __future__ import annotations

import pytest

from tests.support.tenants import ScimClient

pytestmark = pytest.mark.live


def test_x_forwarded_proto_is_ignored_without_a_trusted_proxy(live_server, tenant):
    client = ScimClient(live_server.url, tenant)
    response = client.get("/ServiceProviderConfig", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "on"})
    assert response.status_code == 200, response.text
    assert response.json()["meta"]["location"].startswith("http://"), response.json()["meta"]
