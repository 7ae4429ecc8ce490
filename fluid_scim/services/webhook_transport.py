"""Where a webhook may be sent, and the one POST that sends it to the address that was checked.

**The check** (:func:`check_url`, when an endpoint is saved and again before every attempt):

* ``https`` only in production. Plain ``http`` only outside production, and only to a host that
  ``FLUID_WEBHOOK_ALLOWED_HOSTS`` names (a local receiver while developing or testing).
* Port 443, or 1024-65535 (80 as well where plain http is allowed): the worker never knocks on
  the well-known ports of other services (SSH, SMTP, ...) even on public hosts.
* No credentials in the URL, at most 2048 characters, no spaces or control characters.
* The host is resolved **once**, and every address it resolves to must be public unless the
  allow-list names the host or the address. Not public: private, loopback, link-local,
  site-local, multicast, reserved, unspecified, shared (CGNAT, 100.64.0.0/10) and the other
  special-purpose ranges (IANA registries; Python's ``is_global``), and IPv6 forms that carry
  an IPv4 address are judged by that address: IPv4-mapped (``::ffff:a.b.c.d``), NAT64
  (``64:ff9b::/96``, RFC 6052) and 6to4 (``2002::/16``, RFC 3056). IPv4-compatible addresses
  (``::a.b.c.d``, deprecated by RFC 4291 §2.5.5.1), local-use NAT64 (``64:ff9b:1::/48``,
  RFC 8215) and Teredo (``2001::/32``, RFC 4380) are refused whatever they carry.

**The POST** (:func:`post`) connects to the checked address itself (the name is not resolved
a second time, so a DNS answer that changes between check and connect, "DNS rebinding", cannot
redirect it), while TLS still sends the host name as SNI and verifies the certificate against it,
and the ``Host`` header names it. Redirects are not followed, proxies from the environment are
not used (a proxy would resolve the name again), and the response body is never read: a failed
attempt is described by its status line or by the kind of failure only.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import SplitResult, urlsplit

import certifi
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.ssl_match_hostname import CertificateError

from fluid_scim.errors import UrlRefused

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL = 2048
MAX_ADDRESSES = 4  # the resolved addresses tried in turn when one refuses the connection
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# Special-purpose ranges that not every Python release counts as non-global (IANA special-purpose
# address registries): IETF protocol assignments, documentation (RFC 9637), SRv6 SIDs (RFC 9602),
# discard-only (RFC 6666), benchmarking (RFC 2544, RFC 5180), ORCHIDv2 (RFC 7343).
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8", "192.0.0.0/24", "198.18.0.0/15", "3fff::/20", "5f00::/16", "100::/64", "2001:2::/48",
        "2001:20::/28", "2001:db8::/32",
    )
)
_ALLOWED_LOW_PORTS = {"https": {443}, "http": {80, 443}}


@dataclass(frozen=True)
class Target:
    """A checked webhook URL: what to connect to (``addresses``) and what to call it (``host``)."""

    scheme: str
    host: str  # the ASCII host name (or address literal) used for SNI, certificate and Host
    port: int
    path: str
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"


# -- the check --------------------------------------------------------------------------------


def check_url(url: str, allowed_hosts: Sequence[str], *, production: bool = True) -> Target:
    """The URL's :class:`Target`, or :class:`UrlRefused` saying why it may not receive webhooks."""
    parts = _split(url)
    host = _ascii_host(parts)
    port = _port(parts)
    addresses = _resolve(host, port)
    named = host in allowed_hosts
    for address in addresses:
        if is_internal(address) and not named and not _allowed(address, allowed_hosts):
            raise UrlRefused(
                f"the webhook host {host!r} resolves to an internal address;"
                " only hosts listed in FLUID_WEBHOOK_ALLOWED_HOSTS may"
            )
    if parts.scheme == "http":
        if production:
            raise UrlRefused("the webhook URL must use https")
        if not named and not all(_allowed(address, allowed_hosts) for address in addresses):
            raise UrlRefused("plain http is accepted only for hosts listed in FLUID_WEBHOOK_ALLOWED_HOSTS; use https")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, tuple(str(address) for address in addresses[:MAX_ADDRESSES]))


def _split(url: str) -> SplitResult:
    if len(url) > MAX_URL:
        raise UrlRefused(f"the webhook URL is longer than {MAX_URL} characters")
    if any(ord(char) <= 0x20 or 0x7F <= ord(char) <= 0x9F for char in url):
        raise UrlRefused("the webhook URL must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise UrlRefused("the webhook URL is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused("the webhook URL must be an absolute https URL")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("the webhook URL must not carry credentials")
    return parts


def _ascii_host(parts: SplitResult) -> str:
    host = (parts.hostname or "").lower()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise UrlRefused(f"the webhook host {host!r} is not a valid host name") from None


def _port(parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError:
        raise UrlRefused("the webhook URL's port is not a number from 1 to 65535") from None
    if port is None:
        return 443 if parts.scheme == "https" else 80
    if port < 1024 and port not in _ALLOWED_LOW_PORTS[parts.scheme]:
        raise UrlRefused("the webhook URL's port must be 443 or from 1024 to 65535")
    return port


def _resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to, in the resolver's order, once each."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise UrlRefused(f"the webhook host {host!r} does not resolve") from None
    found: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in found:
            found.append(address)
    if not found:
        raise UrlRefused(f"the webhook host {host!r} does not resolve")
    return found


def is_internal(address: Address) -> bool:
    """Whether ``address`` (or the IPv4 address it carries) is anything but a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = _translated_ipv4(address)
        if carried is not None:
            return is_internal(carried)
        if _internal_ipv6_form(address):
            return True
    return (
        any(address in network for network in _NOT_PUBLIC)
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or not address.is_global
    )


def _translated_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped or NAT64 (RFC 6052 well-known prefix) address reaches."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _internal_ipv6_form(address: ipaddress.IPv6Address) -> bool:
    """IPv4-compatible, local-use NAT64, Teredo and site-local: never; 6to4: judged by the IPv4 it wraps."""
    if address in _IPV4_COMPATIBLE or address in _NAT64_LOCAL or address.teredo is not None or address.is_site_local:
        return True
    return address.sixtofour is not None and is_internal(address.sixtofour)


def _allowed(address: Address, allowed_hosts: Sequence[str]) -> bool:
    for entry in allowed_hosts:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


# -- the POST ---------------------------------------------------------------------------------


def post(target: Target, body: bytes, headers: Mapping[str, str], timeout: float) -> tuple[int | None, str | None]:
    """POST ``body`` to the checked address; ``(status, None)`` on 2xx, else ``(status or None, reason)``.

    The reason is the status and its standard phrase, or the kind of failure: never anything the
    receiver wrote (not even its own reason phrase), so an error shown to the organisation's
    administrators cannot carry a byte of what answered.
    """
    failure: HTTPError | None = None
    for address in target.addresses:
        pool = _pool(target, address, timeout)
        try:
            response = pool.urlopen(
                "POST", target.path, body=body, headers={**headers, "Host": target.host_header},
                redirect=False, retries=False, preload_content=False, assert_same_host=False,
            )
        except NewConnectionError as exc:
            failure = exc  # this address refuses: try the next one the name resolved to
            continue
        except HTTPError as exc:
            return None, _failure_reason(exc, timeout)
        finally:
            pool.close()
        status = response.status
        response.close()  # the body is not read
        if 200 <= status < 300:
            return status, None
        return status, status_reason(status)
    return None, _failure_reason(failure, timeout)


def _pool(target: Target, address: str, timeout: float) -> urllib3.HTTPConnectionPool:
    limits = urllib3.Timeout(connect=timeout, read=timeout)
    if target.scheme == "http":
        return urllib3.HTTPConnectionPool(address, target.port, timeout=limits, retries=False, maxsize=1)
    bundle = ca_bundle()
    return urllib3.HTTPSConnectionPool(
        address, target.port, timeout=limits, retries=False, maxsize=1,
        cert_reqs="CERT_REQUIRED",
        ca_certs=None if os.path.isdir(bundle) else bundle,
        ca_cert_dir=bundle if os.path.isdir(bundle) else None,
        server_hostname=target.host, assert_hostname=target.host,
    )


def ca_bundle() -> str:
    """The CA certificates receivers are verified against: ``REQUESTS_CA_BUNDLE`` (or
    ``CURL_CA_BUNDLE``) when set, as for every other outbound HTTPS call, else certifi's bundle."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()


def status_reason(status: int) -> str:
    try:
        reason = f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        reason = f"HTTP {status}"
    return f"{reason} (redirects are not followed)" if 300 <= status < 400 else reason


def _failure_reason(exc: BaseException | None, timeout: float) -> str:
    """A fixed description of a failed attempt (the exception's own text may quote the peer)."""
    if isinstance(exc, SSLError):
        if any(isinstance(cause, CertificateError) for cause in _chain(exc)):
            return "TLS certificate does not name the webhook host"
        verify = any(isinstance(cause, ssl.SSLCertVerificationError) for cause in _chain(exc))
        return "TLS certificate verify failed" if verify else "TLS handshake failed"
    if isinstance(exc, NewConnectionError):
        refused = any(isinstance(cause, ConnectionRefusedError) for cause in _chain(exc))
        return "connection refused" if refused else "connection failed"
    if isinstance(exc, ConnectTimeoutError):
        return f"connection timed out after {timeout:g}s"
    if isinstance(exc, ReadTimeoutError):
        return f"no response within {timeout:g}s"
    if isinstance(exc, ProtocolError):
        return "the connection closed without a valid HTTP response"
    return "the request failed" if exc is None else f"the request failed ({type(exc).__name__})"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
