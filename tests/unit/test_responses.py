"""SCIM JSON bodies: compact UTF-8, and what orjson refuses still answered."""

import json

from fluid_scim.database import json_bytes
from fluid_scim.scim_http.responses import scim_json


def test_bodies_are_compact_utf8_in_key_order():
    body = {"schemas": ["urn:x"], "displayName": "Zoë Ω", "id": "1", "active": True, "n": None}
    assert json_bytes(body) == '{"schemas":["urn:x"],"displayName":"Zoë Ω","id":"1","active":true,"n":null}'.encode()


def test_an_integer_beyond_64_bits_falls_back_to_the_standard_library():
    huge = {"urn:example:ext": {"counter": 2**70}}
    response = scim_json(huge)
    assert json.loads(response.get_data()) == huge
    assert response.content_type.startswith("application/scim+json")
