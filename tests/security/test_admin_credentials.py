"""An admin credential is bound to its organisation's id, not to the slug: once an organisation is
removed (``flask org delete``) and another created under the same slug, credentials issued for the
first are refused (401), whether minted by Fluid's issuer or by ``flask admin-token``; new ones work."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from fluid_scim.services import organisations
from tests.support.graphql import credential
from tests.support.tenants import make_tenant

QUERY = "{ viewer { subject } organisation { slug name } }"


def _ask(client: FlaskClient, slug: str, token: str) -> tuple[int, dict[str, Any]]:
    response = client.post(
        "/graphql",
        json={"query": QUERY},
        headers={"Authorization": f"Bearer {token}"},
        base_url=f"http://{slug}.localhost",
    )
    return response.status_code, response.get_json()


def _remove(runner: FlaskCliRunner, slug: str) -> None:
    removed = runner.invoke(args=["org", "delete", slug, "--yes"])
    assert removed.exit_code == 0, removed.output


def test_a_credential_for_a_removed_organisation_is_refused_after_its_slug_is_taken_again(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    slug = "reborn-" + uuid.uuid4().hex[:8]
    make_tenant(app, slug)
    issued = credential(app, slug)
    minted = runner.invoke(args=["admin-token", slug])
    assert minted.exit_code == 0, minted.output
    from_cli = minted.stdout.strip()
    for token in (issued, from_cli):
        status, body = _ask(client, slug, token)
        assert status == 200 and body["data"]["organisation"]["slug"] == slug, body

    _remove(runner, slug)
    with app.app_context():
        organisations.create_organisation(slug=slug, name="Someone else")

    for token in (issued, from_cli):
        status, body = _ask(client, slug, token)
        assert status == 401, body
        assert body["data"] is None and body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
        assert f"issued for an organisation '{slug}' that no longer exists" in body["errors"][0]["message"]

    status, body = _ask(client, slug, credential(app, slug))
    assert status == 200 and body["data"]["organisation"] == {"slug": slug, "name": "Someone else"}, body


def test_a_credential_for_a_removed_organisation_is_refused_while_its_slug_is_free(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    slug = "gone-" + uuid.uuid4().hex[:8]
    make_tenant(app, slug)
    issued = credential(app, slug)
    _remove(runner, slug)
    status, body = _ask(client, slug, issued)
    assert status == 401 and "no longer exists" in body["errors"][0]["message"], body
