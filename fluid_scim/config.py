"""Settings read from the environment, validated once at start-up.

Every setting is a ``FLUID_*`` variable, plus Vault's own ``VAULT_*`` variables. A missing or
malformed value raises :class:`ConfigError`, whose message is one line naming the variable; the
entry points turn it into that line on stderr and a non-zero exit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from fluid_scim.dns_label import LABEL

T = TypeVar("T")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "instance" / "fluid-scim.db"
# Left by `make run` for the CLI in a second terminal (fluid_scim/dev_env.py); development only.
DEV_ENV_FILE = PROJECT_ROOT / ".run" / "dev.env"
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(SystemExit):
    """A setting is missing or malformed; the message names it in one line.

    A ``SystemExit``, so that any entry point (the ``flask`` CLI, a script) that does not catch it
    stops with that one line on stderr and status 1 instead of a traceback.
    """

    def __init__(self, message: str) -> None:
        super().__init__(f"fluid-scim: configuration error: {message}")
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Settings:
    """The validated configuration of one process."""

    env: str = "development"
    database_url: str = f"sqlite:///{DEFAULT_SQLITE_PATH}"
    base_domain: str = "localhost"
    public_scheme: str = "http"
    public_port: int | None = None
    trust_proxy: int = 0
    log_level: str = "INFO"
    vault_addr: str | None = None
    vault_token: str | None = field(default=None, repr=False)
    vault_role_id: str | None = field(default=None, repr=False)
    vault_secret_id: str | None = field(default=None, repr=False)
    vault_namespace: str | None = None
    vault_mount: str = "secret"
    vault_path_prefix: str = "fluid-scim"
    vault_timeout: float = 3.0
    token_last_used_interval: int = 60
    # Versions of the Vault keys in use, current first; the others still verify (a rotation's grace
    # period). Empty: version 1 alone, the key created on first use.
    token_digest_keys: tuple[int, ...] = ()
    admin_jwt_keys: tuple[int, ...] = ()
    # Events of reads and refusals and the status counters are written in batches this often (0: in the request).
    record_flush_seconds: float = 1.0
    metrics_token: str | None = field(default=None, repr=False)
    ratelimit_storage_url: str = "memory://"
    ratelimit_default: str = "100/second;3000/minute"
    # (slug, limits) pairs: a tuple, so that Settings stays hashable.
    ratelimit_overrides: tuple[tuple[str, str], ...] = ()
    # Requests that fail authentication (or carry no credential at all), per client address and in all.
    auth_failure_limit: str = "30/minute"
    auth_failure_global_limit: str = "50/second;1000/minute"
    # History events written per organisation, status and minute for refused unauthenticated requests.
    refusal_events_per_minute: int = 10
    scim_max_results: int = 1000
    # Users of default-order list pages kept per worker, with their JSON, while their rows come back
    # unchanged (fluid_scim.repositories.record_cache; about 4 KB each). 0: none kept.
    kept_records: int = 4096
    scim_bulk_max_operations: int = 200
    scim_max_payload_bytes: int = 1_048_576
    # The GraphQL admin API: who may call it (JWTs issued by Fluid) and how much one request may ask.
    admin_jwt_algorithm: str = "HS256"
    admin_jwt_public_key: str | None = field(default=None, repr=False)
    admin_jwt_issuer: str = "fluid"
    admin_jwt_audience: str = "fluid-scim-admin"
    admin_allow_token_reveal: bool = False
    graphql_introspection: bool = True
    graphql_max_depth: int = 10
    graphql_max_cost: int = 5000
    graphql_max_page_size: int = 100
    audit_retention_days: int = 365
    # Outbound webhooks: attempts before a delivery is dead-lettered, per-request timeout, and the
    # hosts (names, addresses or CIDR ranges) allowed although they resolve to internal addresses.
    webhook_max_attempts: int = 8
    webhook_timeout: float = 5.0
    webhook_allowed_hosts: tuple[str, ...] = ()

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def tenant_url(self, slug: str) -> str:
        """The SCIM base URL an IdP is given for an organisation."""
        port = f":{self.public_port}" if self.public_port else ""
        return f"{self.public_scheme}://{slug}.{self.base_domain}{port}/scim/v2"


def _text(name: str, raw: str) -> str:
    value = raw.strip()
    if not value:
        raise ConfigError(f"{name} is set but empty")
    return value


def _choice(*options: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip()
        if value not in options:
            raise ConfigError(f"{name} must be one of {', '.join(options)}; got {value!r}")
        return value

    return parse


def _int_range(low: int, high: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError(f"{name} must be an integer; got {raw.strip()!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must be between {low} and {high}; got {value}")
        return value

    return parse


def _number_of_seconds(name: str, raw: str) -> float:
    try:
        return float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds; got {raw.strip()!r}") from None


def _seconds(name: str, raw: str) -> float:
    value = _number_of_seconds(name, raw)
    if not 0 < value <= 120:
        raise ConfigError(f"{name} must be more than 0 and at most 120 seconds; got {value}")
    return value


def _flush_seconds(name: str, raw: str) -> float:
    value = _number_of_seconds(name, raw)
    if not 0 <= value <= 60:
        raise ConfigError(f"{name} must be between 0 (write in the request) and 60 seconds; got {value}")
    return value


def _trust_proxy(name: str, raw: str) -> int:
    """``false``/``0`` (default), ``true`` (one proxy) or the number of trusted proxy hops."""
    value = raw.strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return 0
    if value in ("true", "yes", "on"):
        return 1
    if value.isdigit() and 1 <= int(value) <= 5:
        return int(value)
    raise ConfigError(f"{name} must be true, false or a proxy hop count from 1 to 5; got {raw.strip()!r}")


def _database_url(name: str, raw: str) -> str:
    value = _text(name, raw)
    scheme = value.split(":", 1)[0].lower()
    if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
        raise ConfigError(f"{name} must be a sqlite:// or postgresql:// SQLAlchemy URL; got scheme {scheme!r}")
    if scheme in ("postgresql", "postgres", "postgresql+psycopg2"):
        # psycopg 3 is the driver we ship; accept the plain spelling operators tend to paste.
        value = "postgresql+psycopg" + value[len(value.split(":", 1)[0]) :]
    return value


def _domain(name: str, raw: str) -> str:
    value = raw.strip().lower().rstrip(".")
    if not value or not all(LABEL.match(label) for label in value.split(".")):
        raise ConfigError(f"{name} must be a DNS name such as fluid.wlork or localhost; got {raw.strip()!r}")
    return value


def _url(name: str, raw: str) -> str:
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http:// or https:// URL; got {raw.strip()!r}")
    return value


def _boolean(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false; got {raw.strip()!r}")


def _public_key_pem(name: str, raw: str) -> str:
    # An environment variable often carries the PEM on one line, its line breaks written as backslash-n.
    value = raw.replace("\\n", "\n").strip()
    if not (value.startswith("-----BEGIN PUBLIC KEY-----") and value.endswith("-----END PUBLIC KEY-----")):
        raise ConfigError(f"{name} must be a PEM public key (-----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----)")
    return value + "\n"


def _mount(name: str, raw: str) -> str:
    value = raw.strip().strip("/")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*", value):
        raise ConfigError(f"{name} must be a Vault path such as 'secret'; got {raw.strip()!r}")
    return value


def _rate(name: str, raw: str) -> str:
    from limits import parse_many

    value = raw.strip()
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name} must be rate limits such as '100/second;3000/minute'; got {value!r}") from None
    return value


def _rate_overrides(name: str, raw: str) -> tuple[tuple[str, str], ...]:
    """``acme=200/second,globex=10/second;500/minute``: per-organisation limits."""
    overrides: dict[str, str] = {}
    for part in filter(None, (item.strip() for item in raw.split(","))):
        slug, sep, rate = part.partition("=")
        if not sep or not LABEL.match(slug.strip()):
            raise ConfigError(f"{name} must be SLUG=LIMITS pairs separated by commas; got {part!r}")
        overrides[slug.strip()] = _rate(name, rate)
    return tuple(sorted(overrides.items()))


def _storage_url(name: str, raw: str) -> str:
    value = raw.strip()
    if not value.startswith(("memory://", "redis://", "rediss://", "redis+sentinel://", "redis+cluster://")):
        raise ConfigError(f"{name} must be memory:// or a redis:// URL; got {value.split(':', 1)[0]!r}")
    return value


MAX_KEY_VERSIONS = 5


def _key_versions(name: str, raw: str) -> tuple[int, ...]:
    """``3,2``: Vault versions of a key, the current one first (at most :data:`MAX_KEY_VERSIONS`)."""
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if not items:
        return ()
    if not all(item.isdigit() and 1 <= int(item) <= 1_000_000 for item in items):
        raise ConfigError(f"{name} must be Vault key versions separated by commas, the current one first; got {raw.strip()!r}")
    versions = tuple(int(item) for item in items)
    if len(set(versions)) != len(versions) or len(versions) > MAX_KEY_VERSIONS:
        raise ConfigError(f"{name} must name 1 to {MAX_KEY_VERSIONS} different key versions; got {raw.strip()!r}")
    return versions


# Environment variable -> (Settings field, parser).
def _host_list(name: str, raw: str) -> tuple[str, ...]:
    """Comma-separated host names, IP addresses or CIDR ranges (``127.0.0.1,hooks.internal,10.0.0.0/8``)."""
    import ipaddress

    hosts = []
    for item in (part.strip().lower() for part in raw.split(",")):
        if not item:
            continue
        if "/" in item:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ConfigError(f"{name}: {item!r} is not a CIDR range") from None
        elif not re.fullmatch(r"[a-z0-9.:\[\]-]+", item):
            raise ConfigError(f"{name}: {item!r} is not a host name or address")
        hosts.append(item.strip("[]"))
    return tuple(hosts)


_VARIABLES: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "FLUID_ENV": ("env", _choice("development", "production")),
    "FLUID_DATABASE_URL": ("database_url", _database_url),
    "FLUID_BASE_DOMAIN": ("base_domain", _domain),
    "FLUID_PUBLIC_SCHEME": ("public_scheme", _choice("http", "https")),
    "FLUID_PUBLIC_PORT": ("public_port", _int_range(1, 65535)),
    "FLUID_TRUST_PROXY": ("trust_proxy", _trust_proxy),
    "FLUID_LOG_LEVEL": ("log_level", lambda n, r: _choice(*_LOG_LEVELS)(n, r.strip().upper())),
    "VAULT_ADDR": ("vault_addr", _url),
    "VAULT_TOKEN": ("vault_token", _text),
    "VAULT_ROLE_ID": ("vault_role_id", _text),
    "VAULT_SECRET_ID": ("vault_secret_id", _text),
    "VAULT_NAMESPACE": ("vault_namespace", _text),
    "FLUID_VAULT_MOUNT": ("vault_mount", _mount),
    "FLUID_VAULT_PATH_PREFIX": ("vault_path_prefix", _mount),
    "FLUID_VAULT_TIMEOUT": ("vault_timeout", _seconds),
    "FLUID_TOKEN_LAST_USED_INTERVAL": ("token_last_used_interval", _int_range(1, 86400)),
    "FLUID_TOKEN_DIGEST_KEYS": ("token_digest_keys", _key_versions),
    "FLUID_ADMIN_JWT_KEYS": ("admin_jwt_keys", _key_versions),
    "FLUID_RECORD_FLUSH_SECONDS": ("record_flush_seconds", _flush_seconds),
    "FLUID_METRICS_TOKEN": ("metrics_token", _text),
    "FLUID_RATELIMIT_STORAGE_URL": ("ratelimit_storage_url", _storage_url),
    "FLUID_RATELIMIT_DEFAULT": ("ratelimit_default", _rate),
    "FLUID_RATELIMIT_OVERRIDES": ("ratelimit_overrides", _rate_overrides),
    "FLUID_AUTH_FAILURE_LIMIT": ("auth_failure_limit", _rate),
    "FLUID_AUTH_FAILURE_GLOBAL_LIMIT": ("auth_failure_global_limit", _rate),
    "FLUID_REFUSAL_EVENTS_PER_MINUTE": ("refusal_events_per_minute", _int_range(0, 1000)),
    "FLUID_SCIM_MAX_RESULTS": ("scim_max_results", _int_range(1, 10_000)),
    "FLUID_KEPT_RECORDS": ("kept_records", _int_range(0, 1_000_000)),
    "FLUID_SCIM_BULK_MAX_OPERATIONS": ("scim_bulk_max_operations", _int_range(1, 10_000)),
    "FLUID_SCIM_MAX_PAYLOAD_BYTES": ("scim_max_payload_bytes", _int_range(1024, 64 * 1_048_576)),
    "FLUID_ADMIN_JWT_ALGORITHM": ("admin_jwt_algorithm", _choice("HS256", "RS256")),
    "FLUID_ADMIN_JWT_PUBLIC_KEY": ("admin_jwt_public_key", _public_key_pem),
    "FLUID_ADMIN_JWT_ISSUER": ("admin_jwt_issuer", _text),
    "FLUID_ADMIN_JWT_AUDIENCE": ("admin_jwt_audience", _text),
    "FLUID_ADMIN_ALLOW_TOKEN_REVEAL": ("admin_allow_token_reveal", _boolean),
    "FLUID_GRAPHQL_INTROSPECTION": ("graphql_introspection", _boolean),
    "FLUID_GRAPHQL_MAX_DEPTH": ("graphql_max_depth", _int_range(2, 50)),
    "FLUID_GRAPHQL_MAX_COST": ("graphql_max_cost", _int_range(1, 1_000_000)),
    "FLUID_GRAPHQL_MAX_PAGE_SIZE": ("graphql_max_page_size", _int_range(1, 1000)),
    "FLUID_AUDIT_RETENTION_DAYS": ("audit_retention_days", _int_range(1, 3650)),
    "FLUID_WEBHOOK_MAX_ATTEMPTS": ("webhook_max_attempts", _int_range(1, 100)),
    "FLUID_WEBHOOK_TIMEOUT": ("webhook_timeout", _seconds),
    "FLUID_WEBHOOK_ALLOWED_HOSTS": ("webhook_allowed_hosts", _host_list),
}


def load_settings(environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Build :class:`Settings` from defaults, then ``environ``, then ``overrides`` (by field name)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for variable, (attribute, parse) in _VARIABLES.items():
        raw = environ.get(variable)
        if raw is not None and (raw.strip() or not attribute.startswith("vault_")):
            values[attribute] = parse(variable, raw)
    known = {f.name for f in fields(Settings)}
    for key, value in (overrides or {}).items():
        if key not in known:
            raise ConfigError(f"unknown setting {key!r}")
        values[key] = tuple(sorted(value.items())) if isinstance(value, dict) else value
    production = values.get("env") == "production"
    values.setdefault("public_scheme", "https" if production else "http")
    values.setdefault("graphql_introspection", not production)
    settings = Settings(**values)
    _check_combinations(settings, environ)
    return settings


def _check_combinations(settings: Settings, environ: Mapping[str, str]) -> None:
    if (settings.vault_role_id is None) != (settings.vault_secret_id is None):
        missing = "VAULT_SECRET_ID" if settings.vault_secret_id is None else "VAULT_ROLE_ID"
        raise ConfigError(f"{missing} is required when AppRole authentication is used")
    if settings.vault_addr and not (settings.vault_token or settings.vault_role_id):
        raise ConfigError("VAULT_TOKEN (or VAULT_ROLE_ID and VAULT_SECRET_ID) is required when VAULT_ADDR is set")
    if settings.admin_jwt_algorithm == "RS256" and not settings.admin_jwt_public_key:
        raise ConfigError("FLUID_ADMIN_JWT_PUBLIC_KEY is required when FLUID_ADMIN_JWT_ALGORITHM=RS256")
    if not settings.is_production:
        return
    for variable in ("FLUID_DATABASE_URL", "FLUID_BASE_DOMAIN", "VAULT_ADDR"):
        if not environ.get(variable, "").strip():
            raise ConfigError(f"{variable} is required when FLUID_ENV=production")
    if settings.database_url.startswith("sqlite"):
        raise ConfigError("FLUID_DATABASE_URL must point at PostgreSQL when FLUID_ENV=production")
    vault = urlsplit(settings.vault_addr or "")
    if vault.scheme == "http" and vault.hostname not in ("127.0.0.1", "localhost", "::1"):
        # A local Vault Agent may listen on plain HTTP; a remote Vault over clear text never should.
        raise ConfigError("VAULT_ADDR must use https:// when FLUID_ENV=production (plain http only on loopback)")


def read_dotenv_if_development(environ: Mapping[str, str] = os.environ, dev_env_file: Path = DEV_ENV_FILE) -> None:
    """In development, load what ``make run`` left in ``.run/dev.env``, then ``.env``.

    ``.env`` is the file ``FLUID_DOTENV`` names, relative to the working directory; empty reads
    neither file. Variables already set in the environment win over both files, and the running
    ``make run``'s (its dev Vault, database and port) over ``.env``. Nothing is read unless
    ``FLUID_ENV`` is unset or ``development``.
    """
    if environ.get("FLUID_ENV", "development").strip() != "development":
        return
    path = environ.get("FLUID_DOTENV", ".env").strip()
    if not path:
        return
    from dotenv import load_dotenv

    if dev_env_file.is_file():
        load_dotenv(dev_env_file, override=False, interpolate=False)
    load_dotenv(Path.cwd() / path, override=False)
