"""The organisation's own SCIM schemas: the standard ones plus its declared custom attributes.

Built from the declarations once per (organisation, ``schema_version``, policy) and cached in the
process: a declaration change bumps the version in its transaction, so every worker rebuilds on the
next request that reads the organisation row.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from fluid_scim.models import Organisation, ScimUser
from fluid_scim.repositories import directory as repo
from fluid_scim.repositories import mapping
from fluid_scim.schema import ResourceType
from fluid_scim.schema.custom import (
    PER_RESOURCE,
    Declaration,
    group_resource_type,
    json_kind,
    past_resource_bound,
    undeclared_paths,
    user_resource_type,
    without_undeclared,
)
from fluid_scim.services import request_context

log = logging.getLogger(__name__)

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


def trim_undeclared(
    organisation: Organisation, resource_type: ResourceType, document: dict[str, Any], *,
    before: dict[str, Any] | None = None,
) -> None:
    """Drop from a resource about to be written the undeclared attributes past the bounds: beyond
    :data:`fluid_scim.schema.custom.PER_RESOURCE` on the resource (those it holds already stay
    first), and new paths beyond :data:`UNDECLARED_PER_ORGANISATION` in the organisation.

    A dropped attribute is noted in the request's history (``undeclared-attribute-dropped``) and the
    log says which bound: an attribute Fluid does not use never refuses the whole resource, which
    the directory would retry on every cycle.
    """
    if resource_type.undeclared != "keep":
        return
    paths = undeclared_paths(resource_type, document)
    if not paths:
        return
    stored = [path for path, _ in undeclared_paths(resource_type, before)] if before is not None else []
    dropped = past_resource_bound(paths, stored=stored)
    if dropped:
        _dropped(f"{resource_type.name} carries {len(paths)} undeclared attributes; at most {PER_RESOURCE} are kept")
    over = set(dropped)
    within = [(path, value) for path, value in paths if path not in over]
    past_organisation = _past_organisation_bound(organisation, within)
    if past_organisation:
        dropped += past_organisation
        _dropped(f"the organisation keeps {UNDECLARED_PER_ORGANISATION} undeclared attributes already")
    if dropped:
        without_undeclared(resource_type, document, dropped)


def _dropped(reason: str) -> None:
    request_context.current().quirks.add("undeclared-attribute-dropped")
    log.warning("undeclared attributes dropped", extra={"reason": reason})


def note_undeclared(
    organisation: Organisation, resource_type: ResourceType, document: dict[str, Any], *, resource_id: str,
    before: dict[str, Any] | None = None,
) -> None:
    """Note the undeclared attributes of a written resource (those new or changed when ``before`` is given).

    They are counted off the request path, once the request succeeded (:mod:`fluid_scim.services.recorder`):
    counting them in the change's transaction would make every write carrying the same undeclared
    attribute wait for the others' commits on its row. The document was trimmed to the bounds
    (:func:`trim_undeclared`) before it was written.
    """
    if resource_type.undeclared != "keep":
        return
    paths = undeclared_paths(resource_type, document)
    if before is not None:
        earlier = dict(undeclared_paths(resource_type, before))
        paths = [(path, value) for path, value in paths if earlier.get(path) != value]
    if not paths:
        return
    sightings = request_context.current().undeclared
    sightings.extend((path, resource_type.name, json_kind(value), resource_id) for path, value in paths)


def _past_organisation_bound(organisation: Organisation, paths: list[tuple[str, Any]]) -> list[str]:
    """The paths new to the organisation beyond :data:`UNDECLARED_PER_ORGANISATION`; the list is read
    only for paths new to this process."""
    keys = [path.lower() for path, _ in paths]
    seen = _seen.setdefault(organisation.id, set())
    unseen = [key for key in dict.fromkeys(keys) if key not in seen]
    if not unseen:
        return []
    known = repo.known_undeclared(organisation.id, unseen)
    new = [key for key in unseen if key not in known]
    room = max(UNDECLARED_PER_ORGANISATION - repo.count_undeclared(organisation.id), 0) if new else 0
    refused = set(new[room:])
    unseen = [key for key in unseen if key not in refused]
    if len(_seen) >= _CACHE_SIZE:
        _seen.clear()
        _seen[organisation.id] = seen
    seen.update(unseen)
    return [paths[keys.index(key)][0] for key in dict.fromkeys(keys) if key in refused]
