"""The organisation is the one label left of the base domain; anything else is no organisation."""

import pytest

from fluid_scim.web.tenancy import slug_from_host


@pytest.mark.parametrize(
    ("host", "base", "slug"),
    [
        ("acme.localhost", "localhost", "acme"),
        ("acme.localhost:8000", "localhost", "acme"),
        ("ACME.Localhost.", "localhost", "acme"),
        ("acme-2.fluid.wlork", "fluid.wlork", "acme-2"),
        ("acme.fluid.wlork:443", "fluid.wlork", "acme"),
        ("localhost", "localhost", None),
        ("localhost:8000", "localhost", None),
        ("x.acme.localhost", "localhost", None),
        ("acme.example.com", "fluid.wlork", None),
        ("evilfluid.wlork", "fluid.wlork", None),
        ("-acme.localhost", "localhost", None),
        ("ac_me.localhost", "localhost", None),
        ("127.0.0.1:8000", "localhost", None),
        ("[::1]:8000", "localhost", None),
        ("", "localhost", None),
        (None, "localhost", None),
    ],
)
def test_slug_from_host(host, base, slug):
    assert slug_from_host(host, base) == slug
