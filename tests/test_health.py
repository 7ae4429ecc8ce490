"""/healthz while the process lives; /readyz only while the database and Vault answer."""


def test_healthz_and_readyz_when_everything_answers(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": "ok", "vault": "ok"}


def test_readyz_is_503_with_a_reason_when_the_database_is_unreachable(app_factory):
    client = app_factory(database_url="postgresql+psycopg://postgres@127.0.0.1:1/nowhere").test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["checks"] == {"database": "database unreachable", "vault": "ok"}
    assert body["reason"] == "database unreachable"


def test_readyz_is_503_when_vault_is_not_configured(app_factory):
    ready = app_factory(vault_addr=None, vault_token=None).test_client().get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["reason"].startswith("Vault is not configured: set VAULT_ADDR")


def test_readyz_is_503_when_vault_refuses_our_credentials(app_factory, vault):
    ready = app_factory(vault_token="not-a-vault-token").test_client().get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["reason"] == f"Vault at {vault.addr} refused fluid-scim's credentials"
