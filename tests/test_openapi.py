"""The OpenAPI description of the SCIM surface: checked in, served, and honoured by a live server.

schemathesis generates requests for every operation of the document and runs them against gunicorn;
each response must not be a 5xx and must conform (status, media type, body schema) to the document.
"""

from __future__ import annotations

import collections
import json
import uuid
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

from fluid_scim.scim_http.openapi import build_openapi
from tests.support.conformance import report_case_counts
from tests.support.tenants import ScimClient
from tests.support.urns import ENTERPRISE_URN, GROUP_URN, USER_URN

CHECKED_IN = Path(__file__).resolve().parents[1] / "fluid_scim" / "scim_http" / "openapi.json"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 20

CASES: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)

# Bounded: explicit examples and Hypothesis fuzzing (positive and negative data), MAX_EXAMPLES per operation.
# The deterministic coverage phase is off: on the User bodies alone it generates over 2,500 cases (~100 s).
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_dict(build_openapi(), config=CONFIG)


@pytest.fixture(scope="module", autouse=True)
def _report_case_counts():
    """One line per backend at the end of the run (printed with the scim2-tester counts)."""
    yield
    report_case_counts("schemathesis", CASES)


def test_checked_in_document_matches_build_openapi():
    assert json.loads(CHECKED_IN.read_text(encoding="utf-8")) == build_openapi(), (
        "fluid_scim/scim_http/openapi.json is stale: run"
        " `.venv/bin/python -m fluid_scim.scim_http.openapi > fluid_scim/scim_http/openapi.json`"
    )


def test_document_is_openapi_31_with_every_scim_path():
    document = build_openapi()
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) >= {
        "/Users", "/Users/{id}", "/Users/.search", "/Groups", "/Groups/{id}", "/Groups/.search", "/.search", "/Bulk",
        "/ServiceProviderConfig", "/Schemas", "/Schemas/{id}", "/ResourceTypes", "/ResourceTypes/{id}", "/Me",
    }
    user = document["components"]["schemas"]["User"]["properties"]
    assert user["id"]["readOnly"] is True
    assert user["password"]["writeOnly"] is True
    assert user["groups"]["readOnly"] is True
    assert ENTERPRISE_URN in user
    assert document["components"]["schemas"]["UserRequest"]["required"] == ["schemas", "userName"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    media = response["content"]["application/scim+json"]["schema"]
                    assert media == {"$ref": "#/components/schemas/Error"}, (method, path, status)
            if "requestBody" in operation:
                assert set(operation["requestBody"]["content"]) == {"application/scim+json", "application/json"}


@pytest.mark.live
def test_served_document_equals_checked_in(live_server, tenant):
    client = ScimClient(live_server.url, tenant)
    response = client.get("/openapi.json")
    assert response.status_code == 200, response.text
    assert response.json() == json.loads(CHECKED_IN.read_text(encoding="utf-8"))
    anonymous = requests.get(f"{live_server.url}/scim/v2/openapi.json", headers={"Host": tenant.host}, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers["Content-Type"].startswith("application/scim+json")


def _existing_id(client: ScimClient, path: str) -> str:
    """A resource that exists now, so PUT/PATCH/DELETE on {id} are tried on a real one as well."""
    name = f"openapi-{uuid.uuid4().hex[:12]}"
    if path.startswith("/Users/"):
        body = {"schemas": [USER_URN], "userName": f"{name}@example.com"}
        created = client.post("/Users", body)
    else:
        created = client.post("/Groups", {"schemas": [GROUP_URN], "displayName": name})
    assert created.status_code == 201, created.text
    return created.json()["id"]


@pytest.mark.live
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_live_server_conforms_to_the_document(case, live_server, tenant, database_url):
    CASES[database_url.split(":", 1)[0]][f"{case.method.upper()} {case.path}"] += 1
    headers = {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}"}
    base_url = f"{live_server.url}/scim/v2"
    if case.path == "/Me":
        # RFC 7644 §3.11: a provider that does not support /Me answers 501, documented as such.
        response = case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS[1:], timeout=10)
        authenticated = response.request.headers.get("Authorization") == headers["Authorization"]
        assert response.status_code == (501 if authenticated else 401)
        return
    case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=10)
    if case.path in ("/Users/{id}", "/Groups/{id}") and case.method.upper() in ("PUT", "PATCH", "DELETE"):
        existing = _existing_id(ScimClient(live_server.url, tenant), case.path)
        case.path_parameters = {**(case.path_parameters or {}), "id": existing}
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=10)
