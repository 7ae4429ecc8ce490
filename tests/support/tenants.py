"""Organisations for tests, and a small SCIM HTTP client that speaks to a tenant as an IdP would."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask

from fluid_scim.services import organisations, scim_tokens


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
    """One request to ``{base_url}/scim/v2{path}`` with ``Host`` set, as Entra sends it."""
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
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations}
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)
