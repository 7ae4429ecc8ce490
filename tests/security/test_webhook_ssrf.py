"""Webhook endpoints cannot reach internal services (SSRF, OWASP API7:2023), not even through DNS rebinding.

An organisation administrator chooses a webhook URL; the worker posts to it from inside the
operator's network. The tests use only loopback: ``127.0.0.2`` stands in for "a public address"
by being listed in ``FLUID_WEBHOOK_ALLOWED_HOSTS`` while ``127.0.0.1`` (the internal service) is
not. Host names are answered by a substituted system resolver (``socket.getaddrinfo``, used both
by the URL check and by any HTTP client that would resolve the name again); everything else is
real: receivers on loopback sockets, TLS with a certificate issued by a test CA, the worker, the
GraphQL admin API, SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flask import Flask
from flask.testing import FlaskClient

from fluid_scim.services import webhooks
from tests.support.graphql import claims_for, data, execute
from tests.support.provisioning import new_user
from tests.support.tenants import Tenant

SECRET_BODY = "internal-secret-7f3a9c: db_password=hunter2"
SECRET_REASON = "Reason-Leak-5be1"


# -- a resolver the test controls ---------------------------------------------------------------


@dataclass
class Dns:
    """Answers for test host names: each lookup takes the next answer; the last one repeats."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)

    def answer(self, name: str, *answers: list[str]) -> None:
        self.answers[name] = list(answers)

    def resolve(self, real: Callable[..., Any], host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in self.answers:
            return real(host, port, *args, **kwargs)
        self.lookups.append(name)
        queue = self.answers[name]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        result = []
        for address in addresses:
            if ipaddress.ip_address(address).version == 4:
                result.append((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 0))))
            else:
                result.append((socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 0), 0, 0)))
        return result


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Dns:
    fake = Dns()
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: fake.resolve(real, host, port, *a, **k))
    return fake


# -- receivers on loopback ----------------------------------------------------------------------


@dataclass
class Receiver:
    """Records every request that reaches it; answers ``status`` with ``body`` (and ``location``)."""

    server: ThreadingHTTPServer
    status: int = 200
    body: bytes = b"ok"
    reason: str | None = None
    location: str | None = None
    requests: list[dict[str, str]] = field(default_factory=list)
    connections: list[str] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])


def start_receiver(address: str, port: int = 0, context: ssl.SSLContext | None = None) -> Receiver:
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def setup(self) -> None:
            holder[0].connections.append(self.client_address[0])
            super().setup()

        def do_POST(self) -> None:
            state = holder[0]
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append({key.lower(): value for key, value in self.headers.items()})
            self.send_response(state.status, state.reason)
            if state.location:
                self.send_header("Location", state.location)
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((address, port), Handler)
    server.daemon_threads = True
    state = Receiver(server)
    holder.append(state)
    if context is not None:
        context.sni_callback = lambda sock, name, ctx: state.server_names.append(name)  # type: ignore[assignment]
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(address: str, port: int = 0, context: ssl.SSLContext | None = None) -> Receiver:
        receiver = start_receiver(address, port, context)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.server.shutdown()
        receiver.server.server_close()


def same_port_pair(start: Callable[..., Receiver]) -> tuple[Receiver, Receiver]:
    """A "public" receiver on 127.0.0.2 and an internal one on 127.0.0.1, on the same port."""
    for _ in range(20):
        public = start("127.0.0.2")
        try:
            return public, start("127.0.0.1", public.port)
        except OSError:
            continue  # that port is taken on 127.0.0.1: pick another
    raise AssertionError("no port free on both 127.0.0.1 and 127.0.0.2")


# -- helpers ------------------------------------------------------------------------------------


def register(app: Flask, tenant: Tenant, url: str) -> dict[str, Any]:
    result = execute(app, "mutation($url: String!) { createWebhookEndpoint(url: $url) { __typename"
                          " ... on WebhookEndpointCreated { endpoint { id url } } ... on Failure { message } } }",
                     claims_for(tenant.slug), {"url": url})
    answer: dict[str, Any] = data(result)["createWebhookEndpoint"]
    return answer


def registered(app: Flask, tenant: Tenant, url: str) -> None:
    answer = register(app, tenant, url)
    assert answer["__typename"] == "WebhookEndpointCreated", answer


def deliveries(app: Flask, tenant: Tenant) -> list[dict[str, Any]]:
    query = "{ webhookDeliveries(first: 100) { edges { node { status attempts lastStatusCode lastError } } } }"
    return [edge["node"] for edge in data(execute(app, query, claims_for(tenant.slug)))["webhookDeliveries"]["edges"]]


def work(app: Flask) -> webhooks.PassResult:
    with app.app_context():
        return webhooks.run_once(app.extensions["fluid_settings"], app.extensions["fluid_secret_store"])


def production(app: Flask) -> Flask:
    """The same app as FLUID_ENV=production would configure it (the other production checks need a real deployment)."""
    app.extensions["fluid_settings"] = dataclasses.replace(app.extensions["fluid_settings"], env="production")
    return app


# -- registration: every form of an internal address is refused ----------------------------------

# Teredo (RFC 4380): 2001:0:<server IPv4>:<flags>:<port xor>:<client IPv4 xor ffff:ffff>.
TEREDO_CLIENT_LOOPBACK = "2001:0:4136:e378:8000:63bf:80ff:fffe"  # server 65.54.227.120, client 127.0.0.1
TEREDO_SERVER_PRIVATE = "2001:0:a00:1:8000:63bf:f7f7:f7f7"  # server 10.0.0.1, client 8.8.8.8

INTERNAL_FORMS = [
    "https://127.0.0.1/hook",
    "https://127.1/hook",  # short dotted form
    "https://2130706433/hook",  # 127.0.0.1 as one decimal number
    "https://0x7f000001/hook",  # ... as hexadecimal
    "https://10.0.0.7/hook",
    "https://192.168.1.1/hook",
    "https://172.16.0.1/hook",
    "https://100.64.0.1/hook",  # shared address space (CGNAT, RFC 6598)
    "https://169.254.169.254/latest/meta-data",  # cloud metadata (link-local)
    "https://0.0.0.0/hook",
    "https://255.255.255.255/hook",
    "https://224.0.0.1/hook",
    "https://240.0.0.1/hook",
    "https://198.18.0.1/hook",
    "https://192.0.0.8/hook",
    "https://[::1]/hook",
    "https://[::]/hook",
    "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
    "https://[::ffff:a9fe:a9fe]/hook",  # IPv4-mapped 169.254.169.254
    "https://[::127.0.0.1]/hook",  # IPv4-compatible (deprecated)
    "https://[::8.8.8.8]/hook",  # IPv4-compatible: refused whatever it carries
    "https://[2002:7f00:1::]/hook",  # 6to4 wrapping 127.0.0.1
    "https://[2002:a9fe:a9fe::1]/hook",  # 6to4 wrapping 169.254.169.254
    "https://[2002:c0a8:101::1]/hook",  # 6to4 wrapping 192.168.1.1
    f"https://[{TEREDO_CLIENT_LOOPBACK}]/hook",
    f"https://[{TEREDO_SERVER_PRIVATE}]/hook",
    "https://[64:ff9b::7f00:1]/hook",  # NAT64 (RFC 6052) of 127.0.0.1
    "https://[64:ff9b::a00:7]/hook",  # NAT64 of 10.0.0.7
    "https://[64:ff9b:1::808:808]/hook",  # local-use NAT64 (RFC 8215)
    "https://[fe80::1]/hook",
    "https://[fec0::1]/hook",  # site-local (deprecated)
    "https://[fc00::1]/hook",  # unique local
    "https://[ff02::1]/hook",
    "https://[2001:db8::1]/hook",
    "https://localhost/hook",
]

PUBLIC_FORMS = [
    "https://1.1.1.1/hook",
    "https://1.1.1.1:8443/hook",
    "https://[2606:4700:4700::1111]/hook",
    "https://[2002:101:101::1]/hook",  # 6to4 wrapping 1.1.1.1
    "https://[64:ff9b::101:101]/hook",  # NAT64 of 1.1.1.1
    "https://[::ffff:1.1.1.1]/hook",
]


@pytest.mark.parametrize("url", INTERNAL_FORMS)
def test_registration_refuses_every_form_of_an_internal_address(app: Flask, tenant: Tenant, url: str) -> None:
    answer = register(app, tenant, url)
    assert answer["__typename"] == "InvalidInput", answer
    assert "internal address" in answer["message"]
    assert data(execute(app, "{ webhookEndpoints { id } }", claims_for(tenant.slug))) == {"webhookEndpoints": []}


@pytest.mark.parametrize("url", PUBLIC_FORMS)
def test_registration_accepts_public_addresses(app: Flask, tenant: Tenant, url: str) -> None:
    registered(app, tenant, url)  # nothing is sent at registration: no connection leaves the machine


def test_every_address_a_name_resolves_to_is_checked(app: Flask, tenant: Tenant, dns: Dns) -> None:
    dns.answer("mixed.fluid.test", ["1.1.1.1", "127.0.0.1"])
    dns.answer("mapped.fluid.test", ["2606:4700:4700::1111", "2002:7f00:1::"])
    for name in ("mixed.fluid.test", "mapped.fluid.test"):
        answer = register(app, tenant, f"https://{name}/hook")
        assert answer["__typename"] == "InvalidInput" and "internal address" in answer["message"], answer
    dns.answer("public.fluid.test", ["1.1.1.1", "2606:4700:4700::1111"])
    registered(app, tenant, "https://public.fluid.test/hook")


@pytest.mark.parametrize(("url", "expected"), [
    ("https://1.1.1.1:22/hook", "port must be 443 or from 1024 to 65535"),
    ("https://1.1.1.1:25/hook", "port must be 443 or from 1024 to 65535"),
    ("http://1.1.1.1/hook", "plain http is accepted only for hosts listed"),
    ("https://user:pw@1.1.1.1/hook", "must not carry credentials"),
    ("gopher://1.1.1.1/hook", "absolute https URL"),
])
def test_registration_refuses_odd_ports_schemes_and_credentials(app: Flask, tenant: Tenant, url: str, expected: str) -> None:
    answer = register(app, tenant, url)
    assert answer["__typename"] == "InvalidInput" and expected in answer["message"], answer


# -- DNS rebinding: check and connection use one resolution ---------------------------------------


def test_delivery_connects_to_the_address_it_checked_not_a_second_answer(
    app_factory: Any, client: FlaskClient, tenant: Tenant, dns: Dns, receivers: Callable[..., Receiver]
) -> None:
    public, internal = same_port_pair(receivers)
    worker = app_factory(webhook_allowed_hosts=("127.0.0.2",), webhook_timeout=2.0)
    # saved: public; checked before the attempt: public; any later lookup: the internal address
    dns.answer("hooks.rebind.test", ["127.0.0.2"], ["127.0.0.2"], ["127.0.0.1"])
    registered(worker, tenant, f"http://hooks.rebind.test:{public.port}/hook")
    new_user(client, tenant, "ada@contoso.com")

    assert work(worker).delivered == 1
    assert internal.connections == [] and internal.requests == []
    assert len(public.requests) == 1 and public.requests[0]["host"] == f"hooks.rebind.test:{public.port}"
    assert dns.lookups == ["hooks.rebind.test", "hooks.rebind.test"]  # once when saved, once for the attempt


def test_a_name_that_turns_internal_after_registration_is_refused_at_delivery(
    app_factory: Any, client: FlaskClient, tenant: Tenant, dns: Dns, receivers: Callable[..., Receiver]
) -> None:
    public, internal = same_port_pair(receivers)
    worker = app_factory(webhook_allowed_hosts=("127.0.0.2",), webhook_timeout=2.0)
    dns.answer("hooks.rebind.test", ["127.0.0.2"], ["127.0.0.1"])
    registered(worker, tenant, f"http://hooks.rebind.test:{public.port}/hook")
    new_user(client, tenant, "ada@contoso.com")

    assert work(worker).failed == 1
    assert internal.connections == [] and public.connections == []
    [log] = deliveries(worker, tenant)
    assert log["status"] == "PENDING" and log["lastStatusCode"] is None
    assert "resolves to an internal address" in log["lastError"]


def test_redirects_to_an_internal_address_are_not_followed(
    app_factory: Any, client: FlaskClient, tenant: Tenant, receivers: Callable[..., Receiver]
) -> None:
    public, internal = same_port_pair(receivers)
    public.status, public.location = 307, f"http://127.0.0.1:{internal.port}/steal"
    worker = app_factory(webhook_allowed_hosts=("127.0.0.2",), webhook_timeout=2.0)
    registered(worker, tenant, f"http://127.0.0.2:{public.port}/hook")
    new_user(client, tenant, "ada@contoso.com")

    assert work(worker).failed == 1
    assert internal.connections == [] and len(public.requests) == 1
    [log] = deliveries(worker, tenant)
    assert (log["lastStatusCode"], log["lastError"]) == (307, "HTTP 307 Temporary Redirect (redirects are not followed)")


# -- pinning keeps TLS about the name -------------------------------------------------------------


@dataclass
class Pki:
    ca_file: Path
    context: ssl.SSLContext


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A test CA and a server certificate for hooks.fluid.test (only)."""
    directory = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fluid test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.fluid.test")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.fluid.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return Pki(ca_file, context)


def test_a_pinned_delivery_still_sends_the_name_as_sni_and_host_and_verifies_the_certificate(
    app_factory: Any, client: FlaskClient, tenant: Tenant, dns: Dns, pki: Pki, receivers: Callable[..., Receiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca_file))
    server = receivers("127.0.0.1", 0, pki.context)
    worker = app_factory(webhook_allowed_hosts=("127.0.0.1",), webhook_timeout=2.0)
    dns.answer("hooks.fluid.test", ["127.0.0.1"])
    registered(worker, tenant, f"https://hooks.fluid.test:{server.port}/hook")
    new_user(client, tenant, "ada@contoso.com")

    assert work(worker).delivered == 1
    assert server.server_names == ["hooks.fluid.test"]
    assert [request["host"] for request in server.requests] == [f"hooks.fluid.test:{server.port}"]
    assert server.connections == ["127.0.0.1"]


def test_a_certificate_for_another_name_or_from_an_unknown_ca_is_refused(
    app_factory: Any, client: FlaskClient, tenant: Tenant, dns: Dns, pki: Pki, receivers: Callable[..., Receiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = receivers("127.0.0.1", 0, pki.context)
    worker = app_factory(webhook_allowed_hosts=("127.0.0.1",), webhook_timeout=2.0, webhook_max_attempts=1)
    dns.answer("other.fluid.test", ["127.0.0.1"])
    dns.answer("hooks.fluid.test", ["127.0.0.1"])
    registered(worker, tenant, f"https://other.fluid.test:{server.port}/hook")  # the certificate names hooks.fluid.test
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca_file))
    new_user(client, tenant, "ada@contoso.com")
    assert work(worker).dead == 1
    [mismatch] = deliveries(worker, tenant)
    assert mismatch["lastError"] == "TLS certificate does not name the webhook host"

    monkeypatch.delenv("REQUESTS_CA_BUNDLE")  # the system's CAs do not know the test CA
    registered(worker, tenant, f"https://hooks.fluid.test:{server.port}/hook")
    new_user(client, tenant, "grace@contoso.com")
    assert work(worker).dead == 2  # grace's event to both endpoints

    assert server.requests == []
    errors = sorted(log["lastError"] for log in deliveries(worker, tenant))
    assert errors == ["TLS certificate does not name the webhook host"] + ["TLS certificate verify failed"] * 2


# -- nothing the receiver writes is kept --------------------------------------------------------


def test_a_failed_delivery_keeps_no_byte_of_the_receivers_answer(
    app_factory: Any, client: FlaskClient, tenant: Tenant, receivers: Callable[..., Receiver],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = receivers("127.0.0.1")
    server.status, server.reason, server.body = 500, SECRET_REASON, SECRET_BODY.encode()
    worker = app_factory(webhook_allowed_hosts=("127.0.0.1",), webhook_timeout=2.0, webhook_max_attempts=1)
    registered(worker, tenant, f"http://127.0.0.1:{server.port}/hook")
    new_user(client, tenant, "ada@contoso.com")

    with caplog.at_level("DEBUG"):
        assert work(worker).dead == 1
    assert len(server.requests) == 1
    [log] = deliveries(worker, tenant)
    assert (log["status"], log["lastStatusCode"], log["lastError"]) == ("DEAD", 500, "HTTP 500 Internal Server Error")
    for fragment in ("internal-secret", "hunter2", SECRET_REASON):
        assert fragment not in caplog.text


def test_a_refused_connection_is_described_without_detail(
    app_factory: Any, client: FlaskClient, tenant: Tenant, receivers: Callable[..., Receiver]
) -> None:
    closed = receivers("127.0.0.1")
    port = closed.port
    closed.server.shutdown()
    closed.server.server_close()
    worker = app_factory(webhook_allowed_hosts=("127.0.0.1",), webhook_timeout=2.0)
    registered(worker, tenant, f"http://127.0.0.1:{port}/hook")
    new_user(client, tenant, "ada@contoso.com")
    assert work(worker).failed == 1
    [log] = deliveries(worker, tenant)
    assert log["lastError"] == "connection refused"


# -- production: https only --------------------------------------------------------------------


def test_plain_http_is_refused_in_production_even_to_an_allowed_host(
    app_factory: Any, client: FlaskClient, tenant: Tenant, receivers: Callable[..., Receiver]
) -> None:
    server = receivers("127.0.0.1")
    url = f"http://127.0.0.1:{server.port}/hook"
    development = app_factory(webhook_allowed_hosts=("127.0.0.1",), webhook_timeout=2.0)
    live = production(app_factory(webhook_allowed_hosts=("127.0.0.1",), webhook_timeout=2.0))

    answer = register(live, tenant, url)
    assert answer["__typename"] == "InvalidInput" and answer["message"] == "the webhook URL must use https"

    registered(development, tenant, url)  # saved before the deployment went to production
    new_user(client, tenant, "ada@contoso.com")
    assert work(live).failed == 1
    assert server.connections == []
    [log] = deliveries(live, tenant)
    assert log["lastError"] == "the webhook URL must use https"
