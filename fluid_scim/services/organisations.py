"""Creating, listing and switching organisations."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError

from fluid_scim.dns_label import LABEL
from fluid_scim.errors import InvalidSlug, OrganisationError, OrganisationExists, OrganisationNotFound
from fluid_scim.models import Organisation
from fluid_scim.repositories import organisations as repo
from fluid_scim.services import access, audit, transaction
from fluid_scim.text import check_text

# Labels of Fluid's own hosts under the base domain; no customer may take them.
RESERVED_SLUGS = frozenset({"www", "api", "admin", "app", "static", "scim", "mail"})


def validate_slug(slug: str) -> str:
    """Return the slug if it is one DNS label Fluid can serve, else raise :class:`InvalidSlug`."""
    if not LABEL.match(slug):
        raise InvalidSlug(
            f"{slug!r} is not a valid organisation slug: use 1-63 lower-case letters, digits and"
            " hyphens, starting and ending with a letter or digit"
        )
    if slug in RESERVED_SLUGS:
        raise InvalidSlug(f"{slug!r} is reserved for Fluid's own hosts")
    return slug


def create_organisation(*, slug: str, name: str | None = None, access_group: str | None = None) -> Organisation:
    """Create an organisation with SCIM sync enabled, its access group, and no token yet."""
    validate_slug(slug)
    display_name = check_text((name or slug).strip(), "the organisation name", one_line=True)
    if not display_name or len(display_name) > 200:
        raise OrganisationError("the organisation name must be 1 to 200 characters")
    group_name = check_text((access_group or "").strip() or access.DEFAULT_ACCESS_GROUP, "the access group name", one_line=True)
    organisation = Organisation(slug=slug, name=display_name, scim_sync_enabled=True)
    try:
        repo.add(organisation)
        # Entra runs group provisioning with Create unchecked: the access group must already exist.
        group = access.ensure_access_group(organisation, group_name)
        audit.record(
            organisation,
            operation="organisation.created",
            resource_type="Organisation",
            changes=[
                {"path": "slug", "before": None, "after": slug},
                {"path": "accessGroup", "before": None, "after": group.display_name},
            ],
        )
        transaction.commit()
    except IntegrityError:
        transaction.rollback()
        raise OrganisationExists(f"organisation {slug!r} already exists") from None
    return organisation


def get_organisation(*, slug: str) -> Organisation:
    organisation = repo.find_by_slug(slug)
    if organisation is None:
        if repo.find_by_slug(slug, being_removed=True) is not None:
            raise OrganisationNotFound(f"organisation {slug!r} is being removed; nothing else may change it")
        raise OrganisationNotFound(f"no organisation {slug!r}")
    return organisation


def find_organisation(*, slug: str) -> Organisation | None:
    """The organisation with this slug, unless there is none or its removal has started."""
    return repo.find_by_slug(slug)


def list_organisations(*, offset: int = 0, limit: int | None = None) -> Sequence[Organisation]:
    """Every organisation by slug, or ``limit`` of them after ``offset``."""
    return repo.list_all(offset=offset, limit=limit)


def set_scim_sync_enabled(*, slug: str, enabled: bool) -> Organisation:
    """The article's "Disable SCIM User Sync" switch (inverted: ``enabled=False`` disables)."""
    organisation = get_organisation(slug=slug)
    before = organisation.scim_sync_enabled
    organisation.scim_sync_enabled = enabled
    audit.record(
        organisation,
        operation="sync.enabled" if enabled else "sync.disabled",
        resource_type="Organisation",
        changes=[{"path": "scimSyncEnabled", "before": before, "after": enabled}],
    )
    transaction.commit()
    return organisation
