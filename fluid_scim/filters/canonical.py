"""Render filter ASTs back to canonical SCIM filter text.

The output is canonical: lower-case operators and keywords, single spaces,
strings as JSON (``ensure_ascii=False``), numbers as Python's shortest
round-tripping ``repr``, and parentheses only where precedence requires
them. ``parse_filter(render(node)) == node`` for every tree the parser can
produce (and ``parse_path(render(path)) == path`` for PATCH paths).
"""

from __future__ import annotations

import json

from fluid_scim.filters.ast import (
    And,
    AttrPath,
    Compare,
    CompValue,
    Filter,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
)

# Binding strength: a child binding more loosely than its position requires
# gets parentheses.
_OR, _AND, _ATOM = 1, 2, 3


def render(node: Filter | AttrPath | PatchPath) -> str:
    """Return the canonical filter (or path) text for ``node``."""
    if isinstance(node, AttrPath):
        return render_attr_path(node)
    if isinstance(node, PatchPath):
        return render_patch_path(node)
    return _render(node)


def render_attr_path(path: AttrPath) -> str:
    text = path.attr if path.sub_attr is None else f"{path.attr}.{path.sub_attr}"
    return text if path.schema is None else f"{path.schema}:{text}"


def render_patch_path(path: PatchPath) -> str:
    text = render_attr_path(path.attr)
    if path.value_filter is not None:
        text += f"[{_render(path.value_filter)}]"
    return text if path.sub_attr is None else f"{text}.{path.sub_attr}"


def render_value(value: CompValue) -> str:
    """Render a comparison value as a JSON literal."""
    # bool before int/float: bool is a subclass of int.
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    # repr() is the shortest text that reads back as the same float, and it is
    # valid JSON for finite floats ("1e+16", "1.5", "-0.0").
    return repr(float(value))


def _render(node: Filter) -> str:
    if isinstance(node, Or):
        return f"{_child(node.left, _OR)} or {_child(node.right, _AND)}"
    if isinstance(node, And):
        return f"{_child(node.left, _AND)} and {_child(node.right, _ATOM)}"
    if isinstance(node, Not):
        return f"not ({_render(node.operand)})"
    if isinstance(node, Present):
        return f"{_render_path(node.path)} pr"
    if isinstance(node, Compare):
        return f"{_render_path(node.path)} {node.op} {render_value(node.value)}"
    if isinstance(node, ValuePath):
        return _render_path(node)
    raise TypeError(f"not a filter node: {node!r}")


def _child(node: Filter, minimum: int) -> str:
    """Render an operand, parenthesised if it binds less tightly than
    ``minimum``. Both operators are left-associative, so a right operand of
    the same operator needs parentheses (``a or (b or c)``)."""
    strength = _OR if isinstance(node, Or) else _AND if isinstance(node, And) else _ATOM
    text = _render(node)
    return f"({text})" if strength < minimum else text


def _render_path(path: AttrPath | ValuePath) -> str:
    if isinstance(path, AttrPath):
        return render_attr_path(path)
    text = f"{render_attr_path(path.attr)}[{_render(path.filter)}]"
    return text if path.sub_attr is None else f"{text}.{path.sub_attr}"
