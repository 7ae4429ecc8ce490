"""How many values a multi-valued attribute may hold (docs/scim.md, "Limits").

Each value of a multi-valued User attribute is a row filters read, and every PATCH operation on the
attribute reads all of them, so the count is bounded: generously for what identity providers send
(a handful of emails, phone numbers and addresses; app roles and entitlements by the dozen), far
below what would let one request keep a worker busy. Group ``members`` are not bounded here: a
group may have any number of members, and a request may change at most
``services.groups.MAX_MEMBERS_PER_REQUEST`` of them.
"""

from __future__ import annotations

from fluid_scim.schema.attributes import Attribute
from fluid_scim.schema.custom import CUSTOM_VALUES

#: Contact-like attributes of RFC 7643 §4.1.2 (emails, phoneNumbers, ims, photos, addresses) and certificates.
CONTACT_VALUES = 100
#: roles and entitlements (RFC 7643 §4.1.2): an identity provider lists every app role or entitlement assigned.
GRANT_VALUES = 1000

STANDARD_VALUES: dict[str, int] = {
    "emails": CONTACT_VALUES,
    "phoneNumbers": CONTACT_VALUES,
    "ims": CONTACT_VALUES,
    "photos": CONTACT_VALUES,
    "addresses": CONTACT_VALUES,
    "x509Certificates": CONTACT_VALUES,
    "entitlements": GRANT_VALUES,
    "roles": GRANT_VALUES,
}
#: Any other multi-valued attribute a schema may define (none of the standard ones is left out above).
OTHER_VALUES = CONTACT_VALUES


def values_limit(attribute: Attribute) -> int:
    """The most values ``attribute`` (multi-valued, declared) may hold."""
    if attribute.custom_id is not None:
        return CUSTOM_VALUES
    return STANDARD_VALUES.get(attribute.name, OTHER_VALUES)


def describe_limit(attribute: Attribute) -> str:
    """The end of an error detail: ``"a custom attribute holds at most 100"`` / ``"'emails' holds at most 100"``."""
    limit = values_limit(attribute)
    if attribute.custom_id is not None:
        return f"a custom attribute holds at most {limit}"
    return f"'{attribute.name}' holds at most {limit:,}"
