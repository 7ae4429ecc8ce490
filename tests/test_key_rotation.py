"""Rotating the SCIM token digest key without downtime (docs/operations.md "Rotating keys").

Each test keeps its keys under a Vault path prefix of its own, so the rotation it performs never
touches the key the rest of the suite uses. Tokens are checked the way an identity provider meets
them: through gunicorn, before the rotation, during its grace period and after it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from fluid_scim.config import ConfigError, load_settings
from fluid_scim.extensions import db
from fluid_scim.models import Organisation, ProvisioningEvent, ScimToken
from fluid_scim.services import organisations, scim_tokens
from tests.support.services import LiveServer, Vault, live_server_env
from tests.support.statements import captured_statements
from tests.support.tenants import Tenant, make_tenant, scim_request


@pytest.fixture
def prefix(app: Flask) -> str:
    """A Vault path prefix of the test's own, on an empty database (``app`` empties it afterwards):
    re-digesting spans every organisation."""
    with app.app_context():
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())
    return f"rotation-{uuid.uuid4().hex[:10]}"


@contextmanager
def live(database_url: str, vault: Vault, artifacts_dir: Path, prefix: str, keys: str | None) -> Iterator[LiveServer]:
    """gunicorn (two workers) on the session's database, with its keys under ``prefix``."""
    env = live_server_env(database_url, vault, FLUID_VAULT_PATH_PREFIX=prefix)
    if keys is not None:
        env["FLUID_TOKEN_DIGEST_KEYS"] = keys
    server = LiveServer.start(env, artifacts_dir, workers=2)
    try:
        yield server
    finally:
        server.stop()


def status_of(server: LiveServer, tenant: Tenant) -> int:
    """What an identity provider sees with the tenant's token (both workers: a few requests)."""
    answers = {scim_request(server.url, "GET", "/Users?count=1", host=tenant.host, token=tenant.token).status_code
               for _ in range(4)}
    assert len(answers) == 1, f"the workers disagree: {answers}"
    return answers.pop()


def idp_headers(tenant: Tenant) -> dict[str, str]:
    return {"Host": tenant.host, "Authorization": f"Bearer {tenant.token}"}


def key_id_of(app: Flask, tenant: Tenant) -> int:
    with app.app_context():
        query = select(ScimToken).join(Organisation, Organisation.id == ScimToken.organisation_id)
        row = db.session.execute(query.where(Organisation.slug == tenant.slug)).scalar_one()
        key_id = row.key_id
        db.session.remove()
    return key_id


def new_digest_key(app: Flask) -> int:
    result = app.test_cli_runner().invoke(args=["keys", "new", "token-digest-key"])
    assert result.exit_code == 0, result.output
    assert "FLUID_TOKEN_DIGEST_KEYS" in result.stderr
    return int(result.stdout.strip())


def test_tokens_from_before_and_after_a_rotation(
    app_factory: Any, database_url: str, vault: Vault, artifacts_dir: Path, prefix: str
) -> None:
    before_app = app_factory(vault_path_prefix=prefix)  # no setting: version 1, made on first use
    before = make_tenant(before_app)
    assert key_id_of(before_app, before) == 1
    assert new_digest_key(before_app) == 2
    grace_app = app_factory(vault_path_prefix=prefix, token_digest_keys=(2, 1))
    after = make_tenant(grace_app)
    assert key_id_of(grace_app, after) == 2

    with live(database_url, vault, artifacts_dir, prefix, "2,1") as grace:
        assert status_of(grace, before) == 200
        assert status_of(grace, after) == 200
        assert scim_request(grace.url, "GET", "/Users", host=before.host, token=after.token).status_code == 401
    # A process still on the old setting (a rolling restart) accepts the new key's digests too.
    old_process = before_app.test_client()
    answer = old_process.get("/scim/v2/Users?count=1", headers=idp_headers(after))
    assert answer.status_code == 200

    with live(database_url, vault, artifacts_dir, prefix, "2") as done:
        assert status_of(done, after) == 200
        assert status_of(done, before) == 401  # its digest was not made again: the old key is gone
        # Digesting again needs the old key to check the value read back from Vault: during the grace.
        result = grace_app.test_cli_runner().invoke(args=["keys", "rotate-digests"])
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines()[-1] == "done: 1 of 1 tokens digested again under key version 2; 0 left behind"
        assert key_id_of(grace_app, before) == 2
        assert status_of(done, before) == 200
        assert status_of(done, after) == 200


def test_rotate_digests_works_in_batches_and_reports_progress(app_factory: Any, prefix: str) -> None:
    old = app_factory(vault_path_prefix=prefix)
    tenants = [make_tenant(old) for _ in range(5)]
    new_digest_key(old)
    grace = app_factory(vault_path_prefix=prefix, token_digest_keys=(2, 1))
    newer = make_tenant(grace)

    status = grace.test_cli_runner().invoke(args=["keys", "status"])
    assert status.exit_code == 0, status.output
    assert "digest key version 1: 5 tokens (previous: still verifies)" in status.stdout
    assert "digest key version 2: 1 tokens (current)" in status.stdout

    result = grace.test_cli_runner().invoke(args=["keys", "rotate-digests", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "2/5 tokens: 2 digested again, 0 left behind",
        "4/5 tokens: 4 digested again, 0 left behind",
        "5/5 tokens: 5 digested again, 0 left behind",
        "done: 5 of 5 tokens digested again under key version 2; 0 left behind",
    ]
    assert {key_id_of(grace, tenant) for tenant in [*tenants, newer]} == {2}
    with grace.app_context():
        organisation = organisations.get_organisation(slug=tenants[0].slug)
        events = db.session.execute(
            select(ProvisioningEvent).where(
                ProvisioningEvent.organisation_id == organisation.id, ProvisioningEvent.operation == "token.redigested"
            )
        ).scalars().all()
        meta = scim_tokens.token_metadata(organisation=organisation)
        assert meta is not None
        assert [event.detail for event in events] == [f"fingerprint {meta.fingerprint}: digest key version 1 -> 2"]
        assert all(tenant.token not in (event.detail or "") for event in events for tenant in tenants)
    done = app_factory(vault_path_prefix=prefix, token_digest_keys=(2,))
    for tenant in [*tenants, newer]:
        answer = done.test_client().get("/scim/v2/Users?count=1", headers=idp_headers(tenant))
        assert answer.status_code == 200
    again = grace.test_cli_runner().invoke(args=["keys", "rotate-digests"])
    assert again.stdout.splitlines() == ["done: 0 of 0 tokens digested again under key version 2; 0 left behind"]

    # A process already on the next rotation digests under version 3: a run still on version 2 leaves it alone.
    assert new_digest_key(grace) == 3
    ahead = make_tenant(app_factory(vault_path_prefix=prefix, token_digest_keys=(3, 2)))
    behind = grace.test_cli_runner().invoke(args=["keys", "rotate-digests"])
    assert behind.stdout.splitlines() == ["done: 0 of 0 tokens digested again under key version 2; 0 left behind"]
    assert key_id_of(grace, ahead) == 3
    status = grace.test_cli_runner().invoke(args=["keys", "status"])
    assert "digest key version 3: 1 tokens (newer than the current one: verifies)" in status.stdout


def test_a_token_that_cannot_be_digested_again_is_reported(app_factory: Any, prefix: str) -> None:
    old = app_factory(vault_path_prefix=prefix)
    kept, lost = make_tenant(old), make_tenant(old)
    with old.app_context():
        organisation = organisations.get_organisation(slug=lost.slug)
        row = db.session.get(ScimToken, organisation.id)
        assert row is not None
        row.vault_version = 99  # the row names a version Vault does not hold
        db.session.commit()
    new_digest_key(old)
    grace = app_factory(vault_path_prefix=prefix, token_digest_keys=(2, 1))
    result = grace.test_cli_runner().invoke(args=["keys", "rotate-digests"])
    assert result.exit_code == 1
    assert f"left behind: {lost.slug}: its value is gone from Vault; generate a new token" in result.stderr
    assert result.stdout.splitlines()[-1] == "done: 1 of 2 tokens digested again under key version 2; 1 left behind"
    assert (key_id_of(grace, kept), key_id_of(grace, lost)) == (2, 1)
    assert lost.token not in result.output

    retired = app_factory(vault_path_prefix=prefix, token_digest_keys=(2,))
    late = retired.test_cli_runner().invoke(args=["keys", "rotate-digests"])
    assert late.exit_code == 1
    expected = f"left behind: {lost.slug}: its digest key (version 1) is retired already; generate a new token"
    assert expected in late.stderr
    assert "digest key version 1: 1 tokens (retired: no longer verifies)" in retired.test_cli_runner().invoke(
        args=["keys", "status"]).stdout


def test_one_lookup_and_no_vault_call_per_request_under_either_key(app_factory: Any, prefix: str, vault: Vault) -> None:
    old = app_factory(vault_path_prefix=prefix)
    before = make_tenant(old)
    new_digest_key(old)
    grace = app_factory(vault_path_prefix=prefix, token_digest_keys=(2, 1))
    after = make_tenant(grace)
    client = grace.test_client()
    counts = []
    for tenant in (before, after, before, after):
        with captured_statements(grace) as seen:
            answer = client.get("/scim/v2/ServiceProviderConfig", headers=idp_headers(tenant))
        assert answer.status_code == 200
        counts.append(sum("scim_token" in statement for statement, _ in seen))
    assert counts[2:] == [1, 1]  # the organisation and its token, in one statement, whichever key made the digest
    vault.pause()  # both keys are in memory: Vault going away changes nothing for either token
    try:
        for tenant in (before, after):
            answer = client.get("/scim/v2/ServiceProviderConfig", headers=idp_headers(tenant))
            assert answer.status_code == 200
    finally:
        vault.resume()


def test_a_configured_version_missing_from_vault_stops_authentication_not_the_process(app_factory: Any, prefix: str) -> None:
    old = app_factory(vault_path_prefix=prefix)
    tenant = make_tenant(old)
    wrong = app_factory(vault_path_prefix=prefix, token_digest_keys=(7, 1))
    answer = wrong.test_client().get("/scim/v2/Users", headers=idp_headers(tenant))
    assert answer.status_code == 503
    assert tenant.token not in answer.get_data(as_text=True)


def test_the_setting_is_parsed_and_checked() -> None:
    assert load_settings({"FLUID_TOKEN_DIGEST_KEYS": " 3, 2 ", "FLUID_ADMIN_JWT_KEYS": "2"}).token_digest_keys == (3, 2)
    assert load_settings({}).token_digest_keys == () and load_settings({}).admin_jwt_keys == ()
    for bad in ("0", "two", "2,2", "1,2,3,4,5,6", "-1"):
        with pytest.raises(ConfigError, match="FLUID_TOKEN_DIGEST_KEYS"):
            load_settings({"FLUID_TOKEN_DIGEST_KEYS": bad})
