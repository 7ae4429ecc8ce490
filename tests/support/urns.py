"""The schema and message URNs the tests send and expect, written out from the specifications.

Tests import these rather than the application's own constants (``fluid_scim.schema.USER_URN``,
``fluid_scim.messages.PATCH_OP_URN``…): a test that borrowed the application's value would keep
passing if the application changed it, and an identity provider would not.
"""

# RFC 7643 §4.1, §4.2, §4.3: the core resources and the enterprise extension.
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
# RFC 7643 §5: the service provider's configuration.
SERVICE_PROVIDER_CONFIG_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"

# Fluid's own User extension (access and roles worked out by Fluid), as its /Schemas endpoint publishes it.
FLUID_URN = "urn:fluid:params:scim:schemas:extension:fluid:2.0:User"

# RFC 7644 messages: §3.4.2 list response, §3.4.3 search request, §3.5.2 PATCH, §3.7 bulk, §3.12 error.
LIST_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
