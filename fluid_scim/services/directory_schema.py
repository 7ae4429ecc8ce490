"""The organisation's own SCIM schemas: the standard ones plus its declared custom attributes.

Built from the declarations once per (organisation, ``schema_version``, policy) and cached in the
process: a declaration change bumps the version in its transaction, so every worker rebuilds on the
next request that reads the organisation row.
"""

from __future__ import annotations

import threading
from typing import Any

from fluid_scim.errors import InvalidValue
from fluid_scim.models import Organisation, ScimUser
from fluid_scim.repositories import directory as repo
from fluid_scim.repositories import mapping
from fluid_scim.schema import ResourceType
from fluid_scim.schema.custom import (
    Declaration,
    check_undeclared_count,
    group_resource_type,
    json_kind,
    undeclared_paths,
    user_resource_type,
)
from fluid_scim.services import request_context

#: Most distinct undeclared attributes an organisation's directory may send (each is listed for its admin).
UNDECLARED_PER_ORGANISATION = 100
_CACHE_SIZE = 4096
_cache: dict[object, tuple[int, str, ResourceType]] = {}
_lock = threading.Lock()
# Undeclared paths this process has seen listed (or has let through) per organisation: the bound
# on distinct paths reads the list only for a path new here, not on every write that carries one.
_seen: dict[object, set[str]] = {}


def user_resource(organisation: Organisation) -> ResourceType:
    """The organisation's User resource type: declared attributes added, its undeclared policy set."""
    version, policy = organisation.schema_version or 1, organisation.undeclared_policy or "keep"
    cached = _cache.get(organisation.id)
    if cached is not None and cached[0] == version and cached[1] == policy:
        return cached[2]
    declarations = [Declaration.of(row) for row in repo.declarations(organisation.id)]
    resource_type = user_resource_type(declarations, undeclared=policy)
    with _lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()
        _cache[organisation.id] = (version, policy, resource_type)
    return resource_type


def group_resource(organisation: Organisation) -> ResourceType:
    return group_resource_type(undeclared=organisation.undeclared_policy or "keep")


def store_custom_values(
    resource_type: ResourceType, user: ScimUser, *, before: dict[str, Any] | None, created: bool = False
) -> None:
    """Write the typed rows of a new user's declared attributes, or rewrite them when its custom values changed."""
    if created:
        repo.add_custom_values(mapping.custom_rows(user, resource_type))
    elif (before or None) != (user.custom or None):
        repo.replace_custom_values(user, mapping.custom_rows(user, resource_type))


def note_undeclared(
    organisation: Organisation, resource_type: ResourceType, document: dict[str, Any], *, resource_id: str,
    before: dict[str, Any] | None = None,
) -> None:
    """Note the undeclared attributes of a written resource (those new or changed when ``before`` is given).

    They are counted off the request path, once the request succeeded (:mod:`fluid_scim.services.recorder`):
    counting them in the change's transaction would make every write carrying the same undeclared
    attribute wait for the others' commits on its row.

    Raises :class:`InvalidValue` past the bounds: :data:`fluid_scim.schema.custom.PER_RESOURCE` on
    the resource, :data:`UNDECLARED_PER_ORGANISATION` distinct paths in the organisation.
    """
    if resource_type.undeclared != "keep":
        return
    paths = undeclared_paths(resource_type, document)
    if not paths:
        return
    check_undeclared_count(paths, label=resource_type.name)
    if before is not None:
        earlier = dict(undeclared_paths(resource_type, before))
        paths = [(path, value) for path, value in paths if earlier.get(path) != value]
    if not paths:
        return
    _check_organisation_bound(organisation, paths)
    sightings = request_context.current().undeclared
    sightings.extend((path, resource_type.name, json_kind(value), resource_id) for path, value in paths)


def _check_organisation_bound(organisation: Organisation, paths: list[tuple[str, Any]]) -> None:
    """:data:`UNDECLARED_PER_ORGANISATION`, read from the list only for paths new to this process."""
    keys = [path.lower() for path, _ in paths]
    seen = _seen.setdefault(organisation.id, set())
    unseen = [key for key in dict.fromkeys(keys) if key not in seen]
    if not unseen:
        return
    known = repo.known_undeclared(organisation.id, unseen)
    new = [key for key in unseen if key not in known]
    if new and repo.count_undeclared(organisation.id) + len(new) > UNDECLARED_PER_ORGANISATION:
        raise InvalidValue(
            f"'{paths[keys.index(new[0])][0]}' is not declared, and this organisation already keeps "
            f"{UNDECLARED_PER_ORGANISATION} undeclared attributes: declare it (or remove unused ones) in Fluid's "
            "Directory attributes, or set the undeclared-attribute policy to ignore"
        )
    if len(_seen) >= _CACHE_SIZE:
        _seen.clear()
        _seen[organisation.id] = seen
    seen.update(unseen)
