"""SCIM PATCH (RFC 7644 §3.5.2) over canonical documents; pure Python (no Flask, no SQLAlchemy).

Entry point: :func:`apply_patch`. Group membership is never part of the document: member
operations become a :class:`MemberDelta` the service applies to its relation table.
"""

from fluid_scim.patch.engine import apply_patch
from fluid_scim.patch.types import MemberDelta, Operation, OpName, PatchResult
from fluid_scim.schema.coerce import MemberRef

__all__ = ["MemberDelta", "MemberRef", "OpName", "Operation", "PatchResult", "apply_patch"]
