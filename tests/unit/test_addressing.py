"""Lenient addressing: endpoint names in any case and one trailing slash reach the canonical route."""

from __future__ import annotations

import pytest

from fluid_scim.scim_http.addressing import canonical_path


@pytest.mark.parametrize(
    ("sent", "canonical", "quirks"),
    [
        ("/scim/v2/Users", "/scim/v2/Users", ()),
        ("/scim/v2/users", "/scim/v2/Users", ("endpoint-case",)),
        ("/scim/v2/USERS/.search", "/scim/v2/Users/.search", ("endpoint-case",)),
        ("/scim/v2/Users/", "/scim/v2/Users", ("trailing-slash",)),
        ("/scim/v2/groups/", "/scim/v2/Groups", ("trailing-slash", "endpoint-case")),
        ("/scim/v2/serviceproviderconfig", "/scim/v2/ServiceProviderConfig", ("endpoint-case",)),
        ("/scim/v2/resourcetypes/User", "/scim/v2/ResourceTypes/User", ("endpoint-case",)),
        # Ids keep their case (RFC 7643 §3.1: id is case-exact); only the endpoint is folded.
        ("/scim/v2/users/AbC-123", "/scim/v2/Users/AbC-123", ("endpoint-case",)),
        ("/scim/v2/Users/AbC-123/", "/scim/v2/Users/AbC-123", ("trailing-slash",)),
        # Not an endpoint, the prefix alone, or outside the SCIM surface: untouched.
        ("/scim/v2/Userz", "/scim/v2/Userz", ()),
        ("/scim/v2/", "/scim/v2/", ()),
        ("/graphql/", "/graphql/", ()),
        ("/SCIM/v2/users", "/SCIM/v2/users", ()),
    ],
)
def test_canonical_path(sent, canonical, quirks):
    assert canonical_path(sent) == (canonical, quirks)
