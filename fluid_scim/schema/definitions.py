"""The schemas fluid-scim serves: RFC 7643 §4.1 User, §4.3 Enterprise User, §4.2 Group."""

from __future__ import annotations

from fluid_scim.schema.attributes import Attribute, ResourceType, Schema, SchemaExtension

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
FLUID_URN = "urn:fluid:params:scim:schemas:extension:fluid:2.0:User"
CORE_URN_PREFIX = "urn:ietf:params:scim:schemas:core:2.0:"


def _string(name: str, description: str, **characteristics: object) -> Attribute:
    return Attribute(name=name, description=description, **characteristics)  # type: ignore[arg-type]


def _multi(name: str, description: str, value: Attribute, types: tuple[str, ...]) -> Attribute:
    """The shape RFC 7643 §2.4 gives emails, phoneNumbers, ims, photos, roles, entitlements, certificates."""
    return Attribute(
        name=name,
        type="complex",
        multi_valued=True,
        description=description,
        sub_attributes=(
            value,
            _string("display", "A human-readable name, primarily used for display purposes."),
            _string("type", "A label indicating the attribute's function.", canonical_values=types),
            Attribute(name="primary", type="boolean", description="Indicates the primary value; at most one is true."),
        ),
    )


# Common attributes (RFC 7643 §3.1): part of every resource, not listed in /Schemas.
ID = Attribute(
    name="id", case_exact=True, mutability="readOnly", returned="always", uniqueness="server",
    description="Unique identifier for the resource, assigned by the service provider.",
)
EXTERNAL_ID = Attribute(name="externalId", case_exact=True, description="Identifier of the resource in the provisioning client.")
META = Attribute(
    name="meta",
    type="complex",
    mutability="readOnly",
    description="Resource metadata.",
    sub_attributes=(
        Attribute(name="resourceType", case_exact=True, mutability="readOnly", description="The resource type."),
        Attribute(name="created", type="dateTime", mutability="readOnly", description="When the resource was added."),
        Attribute(name="lastModified", type="dateTime", mutability="readOnly", description="When it last changed."),
        Attribute(name="location", type="reference", case_exact=True, mutability="readOnly", reference_types=("uri",),
                  description="The URI of the resource."),
        Attribute(name="version", case_exact=True, mutability="readOnly", description="The resource's version (ETag)."),
    ),
)
COMMON_ATTRIBUTES = (ID, EXTERNAL_ID, META)

NAME = Attribute(
    name="name",
    type="complex",
    description="The components of the user's real name.",
    sub_attributes=(
        _string("formatted", "The full name, formatted for display."),
        _string("familyName", "The family name."),
        _string("givenName", "The given name."),
        _string("middleName", "The middle name(s)."),
        _string("honorificPrefix", "The honorific prefix(es), e.g. 'Ms.'."),
        _string("honorificSuffix", "The honorific suffix(es), e.g. 'III'."),
    ),
)

ADDRESSES = Attribute(
    name="addresses",
    type="complex",
    multi_valued=True,
    description="Physical mailing addresses.",
    sub_attributes=(
        _string("formatted", "The full mailing address, formatted for display."),
        _string("streetAddress", "The full street address."),
        _string("locality", "The city or locality."),
        _string("region", "The state or region."),
        _string("postalCode", "The zip or postal code."),
        _string("country", "The country name."),
        _string("type", "A label indicating the address's function.", canonical_values=("work", "home", "other")),
        Attribute(name="primary", type="boolean", description="Indicates the primary address."),
    ),
)

GROUPS = Attribute(
    name="groups",
    type="complex",
    multi_valued=True,
    mutability="readOnly",
    description="The groups the user belongs to, managed through the Group resource.",
    sub_attributes=(
        _string("value", "The identifier of the group.", mutability="readOnly"),
        Attribute(name="$ref", type="reference", mutability="readOnly", reference_types=("Group",),
                  description="The URI of the group."),
        _string("display", "The group's displayName.", mutability="readOnly"),
        _string("type", "Direct or indirect membership.", mutability="readOnly", canonical_values=("direct", "indirect")),
    ),
)

USER = Schema(
    id=USER_URN,
    name="User",
    description="User Account",
    attributes=(
        _string("userName", "Unique identifier for the user, used to sign in. Unique per organisation, case-insensitively.",
                required=True, uniqueness="server"),
        NAME,
        _string("displayName", "The name of the user, suitable for display."),
        _string("nickName", "The casual way to address the user."),
        Attribute(name="profileUrl", type="reference", reference_types=("external",), description="The user's online profile."),
        _string("title", "The user's title, e.g. 'Vice President'."),
        _string("userType", "The relationship between the organisation and the user, e.g. 'Employee'."),
        _string("preferredLanguage", "The preferred written or spoken language, e.g. 'en-US'."),
        _string("locale", "The default location for localising, e.g. 'en-US'."),
        _string("timezone", "The user's time zone, e.g. 'Europe/London'."),
        Attribute(name="active", type="boolean", description="Whether the user may access Fluid (administrative status)."),
        _string("password", "The user's clear-text password; write-only, never returned, stored only as a hash.",
                mutability="writeOnly", returned="never"),
        _multi("emails", "Email addresses.", _string("value", "An email address."), ("work", "home", "other")),
        _multi("phoneNumbers", "Phone numbers.", _string("value", "A phone number, as sent."),
               ("work", "home", "mobile", "fax", "pager", "other")),
        _multi("ims", "Instant messaging addresses.", _string("value", "An instant messaging address."),
               ("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo")),
        _multi("photos", "URLs of photos of the user.",
               Attribute(name="value", type="reference", reference_types=("external",), description="The URL of a photo."),
               ("photo", "thumbnail")),
        ADDRESSES,
        GROUPS,
        _multi("entitlements", "Entitlements of the user.", _string("value", "The entitlement."), ()),
        _multi("roles", "Roles of the user (Entra app roles arrive here).", _string("value", "The role."), ()),
        _multi("x509Certificates", "X.509 certificates of the user.",
               Attribute(name="value", type="binary", description="A DER-encoded certificate, base64."), ()),
    ),
)

ENTERPRISE_USER = Schema(
    id=ENTERPRISE_URN,
    name="EnterpriseUser",
    description="Enterprise User",
    attributes=(
        _string("employeeNumber", "Numeric or alphanumeric identifier assigned to the person by the organisation."),
        _string("costCenter", "The cost center."),
        _string("organization", "The organisation."),
        _string("division", "The division."),
        _string("department", "The department."),
        Attribute(
            name="manager",
            type="complex",
            description="The user's manager: another user of the same organisation.",
            sub_attributes=(
                _string("value", "The id of the manager's User resource."),
                Attribute(name="$ref", type="reference", reference_types=("User",), description="The URI of the manager."),
                _string("displayName", "The manager's displayName; returned when asked for.", mutability="readOnly",
                        returned="request"),
            ),
        ),
    ),
)

FLUID_USER = Schema(
    id=FLUID_URN,
    name="FluidUser",
    description="Access to Fluid, derived from the directory (read-only)",
    attributes=(
        Attribute(name="accessGranted", type="boolean", mutability="readOnly",
                  description="Whether the user may use Fluid now (see the organisation's access rule)."),
        Attribute(
            name="roles",
            type="complex",
            multi_valued=True,
            mutability="readOnly",
            description="The user's effective Fluid roles, from mapped groups and app roles.",
            sub_attributes=(Attribute(name="value", case_exact=True, mutability="readOnly", description="A Fluid role."),),
        ),
        Attribute(name="accessChangedAt", type="dateTime", mutability="readOnly",
                  description="When access or roles last changed."),
    ),
)

GROUP = Schema(
    id=GROUP_URN,
    name="Group",
    description="Group",
    attributes=(
        _string("displayName", "A human-readable name for the group. Unique per organisation, case-insensitively.",
                required=True, uniqueness="server"),
        Attribute(
            name="members",
            type="complex",
            multi_valued=True,
            description="Members of the group.",
            sub_attributes=(
                _string("value", "The id of the member's resource.", mutability="immutable"),
                Attribute(name="$ref", type="reference", mutability="immutable", reference_types=("User", "Group"),
                          description="The URI of the member's resource."),
                _string("display", "The member's displayName (or userName); returned when asked for.", mutability="readOnly",
                        returned="request"),
                _string("type", "The type of member.", mutability="immutable", canonical_values=("User", "Group")),
            ),
        ),
    ),
)

USER_RESOURCE = ResourceType(
    id="User", name="User", endpoint="/Users", description="User Account", schema=USER,
    extensions=(SchemaExtension(ENTERPRISE_USER, required=False), SchemaExtension(FLUID_USER, required=False)),
)
GROUP_RESOURCE = ResourceType(id="Group", name="Group", endpoint="/Groups", description="Group", schema=GROUP)
RESOURCE_TYPES = (USER_RESOURCE, GROUP_RESOURCE)
SCHEMAS = (USER, ENTERPRISE_USER, FLUID_USER, GROUP)
