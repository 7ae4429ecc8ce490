"""Which organisation a request is for: the left-most label of the host under the base domain."""

from __future__ import annotations

from fluid_scim.dns_label import LABEL


def slug_from_host(host: str | None, base_domain: str) -> str | None:
    """``acme.fluid.wlork[:443]`` -> ``acme`` under ``fluid.wlork``; anything else -> ``None``.

    Exactly one label: the bare base domain, ``x.acme.fluid.wlork`` and hosts outside the base
    domain are no organisation.
    """
    if not host:
        return None
    name = host.strip().lower()
    if name.startswith("["):  # an IPv6 literal is never a tenant
        return None
    name = name.rsplit(":", 1)[0] if ":" in name else name
    name = name.rstrip(".")
    suffix = "." + base_domain
    if not name.endswith(suffix):
        return None
    label = name[: -len(suffix)]
    return label if LABEL.match(label) else None
