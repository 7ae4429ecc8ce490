"""A list page's users rendered, each kept as JSON on its record while nothing it shows has changed.

The records of a default-order page are kept between requests while their rows come back unchanged
(:mod:`fluid_scim.repositories.record_cache`). Such a record keeps its rendering here: the user's
JSON, answered again while the other inputs of the rendering are the same: the address the request
names, the organisation's resource type, and the manager's name as read now where the view shows it
(the default view does not: ``manager.displayName`` is ``returned: request``). A page of users that did
not change is then its two statements, one comparison per row and the list around the kept JSON.
Only the default view (no ``attributes``, no ``excludedAttributes``) is kept; any other is rendered
each time, as is a record that is not kept (a filtered page, a GET).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import orjson

from fluid_scim.models import Organisation, ScimUser, UserRecord
from fluid_scim.projection import Projection
from fluid_scim.repositories.record_cache import whole
from fluid_scim.schema import ResourceType
from fluid_scim.services.reading import managers_named, stored_users
from fluid_scim.services.representation import render_user, render_users


def render_records(
    organisation: Organisation, records: Sequence[UserRecord | ScimUser], *, base_url: str, projection: Projection
) -> list[dict[str, Any] | orjson.Fragment]:
    """The users' SCIM JSON, in order: a dict, or the JSON kept on a kept record (``orjson.Fragment``)."""
    kept_here = [getattr(record, "rendered", None) for record in records]
    if projection.include is not None or projection.exclude or not any(rendered is not None for rendered in kept_here):
        stored = stored_users(organisation=organisation, users=[_whole(record) for record in records], projection=projection)
        return [*render_users(stored, base_url=base_url, projection=projection)]
    names = managers_named(organisation, records, projection)
    resource_type = projection.resource_type
    answers: list[dict[str, Any] | orjson.Fragment | None] = []
    missing: list[tuple[int, UserRecord | ScimUser, tuple[str, str | None]]] = []
    for record, rendered in zip(records, kept_here, strict=True):
        key = (base_url, names.get(record.manager_id) if record.manager_id else None)
        kept = rendered.get(key) if rendered is not None else None
        if kept is not None and kept[0] is resource_type:
            answers.append(kept[1])
            continue
        missing.append((len(answers), record, key))
        answers.append(None)
    if missing:
        users = [_whole(record) for _, record, _ in missing]
        stored = stored_users(organisation=organisation, users=users, projection=projection, manager_names=names)
        for (index, record, key), user in zip(missing, stored, strict=True):
            body = render_user(user, base_url=base_url, projection=projection)
            answers[index] = _kept_rendering(record, key, resource_type, body)
    return cast(list[dict[str, Any] | orjson.Fragment], answers)


def _whole(record: UserRecord | ScimUser) -> UserRecord | ScimUser:
    return whole(record) if isinstance(record, UserRecord) else record


def _kept_rendering(
    record: UserRecord | ScimUser, key: tuple[str, str | None], resource_type: ResourceType, body: dict[str, Any]
) -> dict[str, Any] | orjson.Fragment:
    """The body as JSON kept on its record (when the record is kept between requests)."""
    rendered = getattr(record, "rendered", None)
    if rendered is None:
        return body
    try:
        # A copy of orjson's bytes: its own keep the buffer it wrote into, about 4 KB for an Entra user
        # whose JSON is 1.3 KB (tracemalloc).
        fragment = orjson.Fragment(bytes(memoryview(orjson.dumps(body))))
    except TypeError:  # what orjson cannot write (an integer beyond 64 bits): rendered each time
        return body
    if len(rendered) >= _RENDERINGS_KEPT:
        rendered.clear()
    rendered[key] = (resource_type, fragment)
    return fragment


# Renderings kept per record: one per address the service is reached by and manager name, a few at most.
_RENDERINGS_KEPT = 4
