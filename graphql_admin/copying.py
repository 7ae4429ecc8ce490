"""GraphQL objects built from the model row or service value they show, field by field."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")  # every Strawberry type is a dataclass


def copied(cls: type[T], origin: object, /, **computed: Any) -> T:
    """An instance of the Strawberry type ``cls`` whose fields are ``origin``'s attributes of the same name.

    ``computed`` gives the fields that are not a plain copy (another name, a conversion, a value
    from elsewhere); a name that is not a field of ``cls`` is a ``TypeError``, as in any constructor.
    Resolver fields (methods marked ``@strawberry.field``) are not constructor arguments: not copied.
    """
    copies = {
        field.name: getattr(origin, field.name)
        for field in dataclasses.fields(cls)
        if field.init and field.name not in computed
    }
    return cls(**copies, **computed)
