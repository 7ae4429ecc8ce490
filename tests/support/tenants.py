"""Organisations for tests, and a small SCIM HTTP client that speaks to a tenant as an IdP would."""

from __future__ import annotations

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
