"""The default view (no ``attributes`` / ``excludedAttributes``) takes a short way: it must agree with the general one."""

from __future__ import annotations

import copy

from fluid_scim.projection import Projection
from fluid_scim.schema import GROUP_RESOURCE, USER_RESOURCE
from tests.support.urns import ENTERPRISE_URN, GROUP_URN, USER_URN

USER = {
    "schemas": [USER_URN, ENTERPRISE_URN],
    "id": "u1",
    "userName": "ada@contoso.com",
    "name": {"givenName": "Ada", "familyName": "Lovelace"},
    "emails": [{"value": "ada@contoso.com", "type": "work", "primary": True}, {"value": "a@home.example", "type": "home"}],
    "groups": [{"value": "g1", "$ref": "https://x/Groups/g1", "display": "Staff", "type": "direct"}],
    ENTERPRISE_URN: {"department": "R&D", "manager": {"value": "u2", "$ref": "https://x/Users/u2", "displayName": "Bob"}},
    "meta": {"resourceType": "User", "location": "https://x/Users/u1", "version": 'W/"1"'},
}
GROUP = {
    "schemas": [GROUP_URN],
    "id": "g1",
    "displayName": "Staff",
    "members": [{"value": "u1", "$ref": "https://x/Users/u1", "display": "Ada", "type": "User"}],
    "meta": {"resourceType": "Group", "location": "https://x/Groups/g1", "version": 'W/"3"'},
}


def _both(resource_type, body):
    default = Projection.parse(resource_type, None, None)
    # Excluding an attribute the body lacks takes the general way with the same meaning.
    general = Projection.parse(resource_type, None, ["nickName" if resource_type is USER_RESOURCE else "externalId"])
    original = copy.deepcopy(body)
    short, long = default.apply(body), general.apply(body)
    assert body == original, "projection must not change the rendered body"
    return short, long


def test_the_default_user_view_drops_only_requested_sub_attributes():
    short, long = _both(USER_RESOURCE, USER)
    assert short == long
    assert "displayName" not in short[ENTERPRISE_URN]["manager"] and short[ENTERPRISE_URN]["department"] == "R&D"
    assert short["emails"] == USER["emails"] and short["groups"] == USER["groups"] and short["schemas"] == USER["schemas"]


def test_the_default_group_view_drops_member_display():
    short, long = _both(GROUP_RESOURCE, GROUP)
    assert short == long
    assert short["members"] == [{"value": "u1", "$ref": "https://x/Users/u1", "type": "User"}]


def test_asking_for_a_requested_sub_attribute_returns_it():
    asked = Projection.parse(GROUP_RESOURCE, ["members.display"], None).apply(GROUP)
    assert asked["members"] == [{"display": "Ada"}] and asked["id"] == "g1"
