"""A Bulk request that repeats a bulkId is refused whole (RFC 7644 §3.7: a bulkId names one new
resource within the request), before any operation runs."""

from __future__ import annotations

import uuid

import pytest

from tests.support.tenants import ScimClient
from tests.support.urns import BULK_REQUEST_URN, ERROR_URN, USER_URN

pytestmark = pytest.mark.live


def test_a_repeated_bulk_id_is_refused_and_nothing_is_created(live_server, tenant):
    client = ScimClient(live_server.url, tenant)
    names = [f"twin-{index}-{uuid.uuid4().hex[:6]}" for index in range(2)]
    body = {
        "schemas": [BULK_REQUEST_URN],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "same", "data": {"schemas": [USER_URN], "userName": name}}
            for name in names
        ],
    }
    response = client.post("/Bulk", body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["schemas"] == [ERROR_URN] and error["scimType"] == "invalidSyntax"
    assert "repeats the bulkId 'same'" in error["detail"]
    assert client.get("/Users", params={"filter": 'userName sw "twin-"'}).json()["totalResults"] == 0
