"""Organisations for tests, and a small SCIM HTTP client that speaks to a tenant as an IdP would."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask

from fluid_scim.services import organisations, scim_tokens
from tests.support.urns import PATCH_OP_URN


@dataclass(frozen=True)
class Tenant:
    slug: str
    token: str

    @property
    def host(self) -> str:
        return f"{self.slug}.localhost"


def make_tenant(app: Flask, slug: str | None = None, *, with_token: bool = True) -> Tenant:
    slug = slug or "org-" + uuid.uuid4().hex[:10]
    with app.app_context():
        organisation = organisations.create_organisation(slug=slug, name=f"Test {slug}")
        token = ""
        if with_token:
            store = app.extensions["fluid_secret_store"]
            token = scim_tokens.generate_scim_token(organisation=organisation, store=store).reveal()
    return Tenant(slug=slug, token=token)


# SCIM requests sent to each tenant host by this test process: what :func:`wait_until_recorded` waits for.
SENT: Counter[str] = Counter()


def wait_until_recorded(app: Flask, tenant: Tenant, *, within: float = 20.0) -> int:
    """Wait until a live server has counted every SCIM request sent to ``tenant`` (its recorder writes
    read events and status counts in batches, ``FLUID_RECORD_FLUSH_SECONDS``), those refused without
    a bearer token included; returns the count."""
    from sqlalchemy import func, select

    from fluid_scim.extensions import db
    from fluid_scim.models import Organisation, StatusBucket

    expected = SENT[tenant.host.lower()]
    deadline = time.monotonic() + within
    counted = -1
    for _ in range(int(within / 0.05) + 1):
        with app.app_context():
            counted = db.session.execute(
                select(func.coalesce(func.sum(StatusBucket.requests + StatusBucket.without_token), 0))
                .join(Organisation, Organisation.id == StatusBucket.organisation_id)
                .where(Organisation.slug == tenant.slug)
            ).scalar_one()
            db.session.remove()
        if counted >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert counted >= expected, f"the server counted {counted} of the {expected} requests sent to {tenant.host} within {within}s"
    return int(counted)


def scim_request(
    base_url: str,
    method: str,
    path: str,
    *,
    host: str,
    token: str | None,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> requests.Response:
    """One request to ``{base_url}/scim/v2{path}`` with ``Host`` set, as Entra sends it (counted in :data:`SENT`)."""
    SENT[host.lower()] += 1
    all_headers = {"Host": host, **(headers or {})}
    if token is not None:
        all_headers.setdefault("Authorization", f"Bearer {token}")
    return requests.request(method, f"{base_url}/scim/v2{path}", headers=all_headers, timeout=10, **kwargs)


class ScimClient:
    """Speaks to one tenant of a live server the way an IdP does (``application/scim+json``)."""

    def __init__(self, base_url: str, tenant: Tenant, *, user_agent: str = "fluid-scim-tests") -> None:
        self.base_url = base_url
        self.tenant = tenant
        self.user_agent = user_agent

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        headers = {"User-Agent": self.user_agent, **kwargs.pop("headers", {})}
        if body is not None:
            headers.setdefault("Content-Type", "application/scim+json; charset=utf-8")
            kwargs["data"] = json.dumps(body)
        return scim_request(
            self.base_url, method, path, host=self.tenant.host, token=self.tenant.token, headers=headers, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, operations: list[dict[str, Any]], **kwargs: Any) -> requests.Response:
        body = {"schemas": [PATCH_OP_URN], "Operations": operations}
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)
