"""Settings: defaults, every variable's validation, production requirements."""

import pytest

from fluid_scim.config import ConfigError, load_settings


def test_defaults_need_no_configuration():
    settings = load_settings({})
    assert settings.env == "development"
    assert settings.database_url.startswith("sqlite:///")
    assert settings.base_domain == "localhost"
    assert settings.vault_mount == "secret"
    assert settings.trust_proxy == 0
    assert settings.tenant_url("acme") == "http://acme.localhost/scim/v2"
    assert settings.kept_records == 4096


def test_environment_is_read_and_postgres_urls_use_psycopg3():
    settings = load_settings(
        {
            "FLUID_DATABASE_URL": "postgresql://fluid@db.internal/fluid",
            "FLUID_BASE_DOMAIN": "Fluid.Wlork.",
            "FLUID_TRUST_PROXY": "2",
            "FLUID_PUBLIC_PORT": "8443",
            "VAULT_ADDR": "http://127.0.0.1:8200/",
            "VAULT_TOKEN": "t",
        }
    )
    assert settings.database_url == "postgresql+psycopg://fluid@db.internal/fluid"
    assert settings.base_domain == "fluid.wlork"
    assert settings.trust_proxy == 2
    assert settings.vault_addr == "http://127.0.0.1:8200"
    assert settings.tenant_url("acme") == "http://acme.fluid.wlork:8443/scim/v2"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"FLUID_ENV": "staging"}, "FLUID_ENV must be one of development, production; got 'staging'"),
        ({"FLUID_DATABASE_URL": "mysql://x/y"}, "FLUID_DATABASE_URL must be a sqlite:// or postgresql://"),
        ({"FLUID_BASE_DOMAIN": "not a domain"}, "FLUID_BASE_DOMAIN must be a DNS name"),
        ({"FLUID_TRUST_PROXY": "maybe"}, "FLUID_TRUST_PROXY must be true, false or a proxy hop count"),
        ({"FLUID_PUBLIC_PORT": "eighty"}, "FLUID_PUBLIC_PORT must be an integer; got 'eighty'"),
        ({"FLUID_PUBLIC_PORT": "70000"}, "FLUID_PUBLIC_PORT must be between 1 and 65535; got 70000"),
        ({"FLUID_VAULT_TIMEOUT": "0"}, "FLUID_VAULT_TIMEOUT must be more than 0"),
        ({"FLUID_LOG_LEVEL": "LOUD"}, "FLUID_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR"),
        ({"VAULT_ADDR": "vault:8200", "VAULT_TOKEN": "t"}, "VAULT_ADDR must be an http:// or https:// URL"),
        ({"VAULT_ADDR": "http://127.0.0.1:8200"}, "VAULT_TOKEN (or VAULT_ROLE_ID and VAULT_SECRET_ID) is required"),
        ({"VAULT_ROLE_ID": "r"}, "VAULT_SECRET_ID is required when AppRole authentication is used"),
        ({"FLUID_KEPT_RECORDS": "-1"}, "FLUID_KEPT_RECORDS must be between 0 and 1000000; got -1"),
    ],
)
def test_a_bad_setting_is_named_in_one_line(environ, message):
    with pytest.raises(ConfigError) as raised:
        load_settings(environ)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
    # It is a SystemExit carrying the one line an operator sees.
    assert raised.value.code.startswith("fluid-scim: configuration error: ")


PRODUCTION = {
    "FLUID_ENV": "production",
    "FLUID_DATABASE_URL": "postgresql://fluid@db/fluid",
    "FLUID_BASE_DOMAIN": "fluid.wlork",
    "VAULT_ADDR": "https://vault.internal:8200",
    "VAULT_ROLE_ID": "role",
    "VAULT_SECRET_ID": "secret-id",
}


def test_production_settings_with_approle_are_accepted():
    settings = load_settings(PRODUCTION)
    assert settings.is_production
    assert settings.public_scheme == "https"
    assert settings.tenant_url("acme") == "https://acme.fluid.wlork/scim/v2"
    assert "secret-id" not in repr(settings)


@pytest.mark.parametrize("missing", ["FLUID_DATABASE_URL", "FLUID_BASE_DOMAIN", "VAULT_ADDR"])
def test_production_requires_explicit_infrastructure(missing):
    environ = {k: v for k, v in PRODUCTION.items() if k != missing}
    if missing == "VAULT_ADDR":
        environ = {k: v for k, v in environ.items() if not k.startswith("VAULT_")}
    with pytest.raises(ConfigError, match=f"{missing} is required when FLUID_ENV=production"):
        load_settings(environ)


def test_production_refuses_sqlite_and_remote_clear_text_vault():
    with pytest.raises(ConfigError, match="must point at PostgreSQL"):
        load_settings({**PRODUCTION, "FLUID_DATABASE_URL": "sqlite:///x.db"})
    with pytest.raises(ConfigError, match="VAULT_ADDR must use https://"):
        load_settings({**PRODUCTION, "VAULT_ADDR": "http://vault.internal:8200"})
    assert load_settings({**PRODUCTION, "VAULT_ADDR": "http://127.0.0.1:8200"}).vault_addr == "http://127.0.0.1:8200"


def test_unknown_override_is_refused():
    with pytest.raises(ConfigError, match="unknown setting 'databse_url'"):
        load_settings({}, {"databse_url": "sqlite://"})


def test_rate_limit_settings_are_checked_and_per_organisation():
    settings = load_settings({"FLUID_RATELIMIT_OVERRIDES": "acme=200/second, globex=10/second;500/minute"})
    assert dict(settings.ratelimit_overrides) == {"acme": "200/second", "globex": "10/second;500/minute"}
    hash(settings)  # settings stay hashable (cached by the admin API)
    with pytest.raises(ConfigError, match="FLUID_RATELIMIT_DEFAULT must be rate limits"):
        load_settings({"FLUID_RATELIMIT_DEFAULT": "lots"})
    with pytest.raises(ConfigError, match="FLUID_RATELIMIT_OVERRIDES must be SLUG=LIMITS pairs"):
        load_settings({"FLUID_RATELIMIT_OVERRIDES": "acme"})
    with pytest.raises(ConfigError, match="FLUID_RATELIMIT_STORAGE_URL must be memory:// or a redis:// URL"):
        load_settings({"FLUID_RATELIMIT_STORAGE_URL": "memcached://x"})
    failures = load_settings({"FLUID_AUTH_FAILURE_GLOBAL_LIMIT": "5/second", "FLUID_REFUSAL_EVENTS_PER_MINUTE": "0"})
    assert failures.auth_failure_global_limit == "5/second" and failures.refusal_events_per_minute == 0
    with pytest.raises(ConfigError, match="FLUID_AUTH_FAILURE_GLOBAL_LIMIT must be rate limits"):
        load_settings({"FLUID_AUTH_FAILURE_GLOBAL_LIMIT": "many"})
    with pytest.raises(ConfigError, match="FLUID_REFUSAL_EVENTS_PER_MINUTE"):
        load_settings({"FLUID_REFUSAL_EVENTS_PER_MINUTE": "5000"})
