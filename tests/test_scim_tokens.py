"""Token lifecycle against the real OpenBao server and the database."""

import pytest
from sqlalchemy import select, update

from fluid_scim.errors import WeakToken
from fluid_scim.extensions import db
from fluid_scim.models import Organisation, ScimToken
from fluid_scim.repositories.scoping import across_organisations
from fluid_scim.secrets import Secret
from fluid_scim.services import organisations, scim_tokens
from tests.support.tenants import make_tenant, scim_request

STRONG = "Zq7!pR2#vL9@kW4$mN8%tB3^hJ6&cX1*"


def _store(app):
    return app.extensions["fluid_secret_store"]


def _all_database_text(app) -> str:
    """Every value of every row of every table, as text: what a stolen database would show."""
    chunks = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(across_organisations(select(table))):
                for value in row:
                    chunks.append(value.hex() if isinstance(value, bytes) else str(value))
    return "\n".join(chunks)


def test_generated_token_is_random_and_kept_in_vault_not_in_the_database(app, vault):
    tenant = make_tenant(app)
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        row = db.session.get(ScimToken, organisation.id)
        second = scim_tokens.generate_scim_token(organisation=organisation, store=_store(app)).reveal()
        row = db.session.get(ScimToken, organisation.id)
        location = f"fluid-scim/organisations/{organisation.id}/scim-token"
    assert tenant.token.startswith("fscim_") and len(tenant.token) >= 6 + 43
    assert second != tenant.token
    stored = vault.read_kv(location)
    assert stored["data"] == {"token": second}
    assert stored["metadata"]["version"] == row.vault_version == 2
    assert row.source == "generated" and len(row.fingerprint) == 8 and row.last_used_at is None
    everything = _all_database_text(app)
    for token in (tenant.token, second):
        assert token not in everything
        assert token.encode().hex() not in everything


def test_admin_entered_token_is_checked_then_stored(app, vault):
    tenant = make_tenant(app, with_token=False)
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        meta = scim_tokens.set_scim_token(organisation=organisation, token=Secret(STRONG), store=_store(app))
        assert meta.source == "entered"
        assert scim_tokens.token_metadata(organisation=organisation).fingerprint == meta.fingerprint
        assert _store(app).read_scim_token(organisation.id, 1) == Secret(STRONG)
    assert STRONG not in _all_database_text(app)


def test_weak_token_is_refused_and_changes_nothing(app):
    tenant = make_tenant(app)
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        before = scim_tokens.token_metadata(organisation=organisation)
        with pytest.raises(WeakToken) as raised:
            scim_tokens.set_scim_token(organisation=organisation, token=Secret("short"), store=_store(app))
        assert raised.value.rule == "min_length"
        assert scim_tokens.token_metadata(organisation=organisation) == before


def test_secret_values_never_print():
    secret = Secret("fscim_do-not-print")
    assert "do-not-print" not in repr(secret) and "do-not-print" not in str(secret) and "do-not-print" not in f"{secret}"


@pytest.mark.live
def test_rotation_is_immediate_in_every_worker(app, live_server):
    tenant = make_tenant(app)

    def status(token):
        return scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=token).status_code

    # Warm both workers with the first token, so any per-process cache would show up below.
    assert {status(tenant.token) for _ in range(10)} == {200}
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        new = scim_tokens.generate_scim_token(organisation=organisation, store=_store(app)).reveal()
    assert {status(tenant.token) for _ in range(10)} == {401}
    assert {status(new) for _ in range(10)} == {200}
    with app.app_context():
        scim_tokens.set_scim_token(organisation=organisation, token=Secret(STRONG), store=_store(app))
    assert {status(new) for _ in range(10)} == {401}
    assert {status(STRONG) for _ in range(10)} == {200}


@pytest.mark.live
def test_last_used_is_written_at_most_once_a_minute(app, live_server):
    tenant = make_tenant(app)
    for _ in range(5):
        scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=tenant.token)
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        first = scim_tokens.token_metadata(organisation=organisation).last_used_at
        assert first is not None
        for _ in range(5):
            scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=tenant.token)
        db.session.expire_all()
        assert scim_tokens.token_metadata(organisation=organisation).last_used_at == first
        # Age the stamp past the interval: the next request writes it again.
        db.session.execute(
            update(ScimToken)
            .where(ScimToken.organisation_id == organisation.id)
            .values(last_used_at=first.replace(year=first.year - 1))
        )
        db.session.commit()
        scim_request(live_server.url, "GET", "/ServiceProviderConfig", host=tenant.host, token=tenant.token)
        db.session.expire_all()
        assert scim_tokens.token_metadata(organisation=organisation).last_used_at > first


def test_deleting_an_organisation_removes_its_token_row(app):
    tenant = make_tenant(app)
    with app.app_context():
        organisation = db.session.execute(select(Organisation).where(Organisation.slug == tenant.slug)).scalar_one()
        db.session.delete(organisation)
        db.session.commit()
        assert db.session.execute(across_organisations(select(ScimToken))).first() is None
