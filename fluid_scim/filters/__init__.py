"""SCIM filter expressions and PATCH paths (RFC 7644 §3.4.2.2 and §3.5.2).

Pure Python, no database or web framework:

* :func:`parse_filter` / :func:`parse_path` turn client text into an
  immutable AST (:mod:`fluid_scim.filters.ast`), raising :class:`FilterError`
  (message for the client, 0-based ``position``) for every malformed input
  and :class:`FilterTooComplex` when a length, depth or node limit is hit.
* :func:`render` turns an AST back into canonical text that parses to an
  equal AST.
* :func:`matches` / :func:`compile_predicate` evaluate a filter over SCIM JSON
  dicts in memory: the PATCH engine uses them for value paths, and the
  property tests hold the SQL translation to the same documented semantics.
"""

from fluid_scim.filters.ast import (
    COMPARE_OPS,
    And,
    AttrPath,
    Compare,
    CompValue,
    Filter,
    FilterError,
    FilterTooComplex,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
)
from fluid_scim.filters.canonical import render
from fluid_scim.filters.evaluate import AttributeInfo, AttributeLookup, compile_predicate, matches
from fluid_scim.filters.parser import parse_filter, parse_path

__all__ = [
    "COMPARE_OPS",
    "And",
    "AttrPath",
    "AttributeInfo",
    "AttributeLookup",
    "CompValue",
    "Compare",
    "Filter",
    "FilterError",
    "FilterTooComplex",
    "Not",
    "Or",
    "PatchPath",
    "Present",
    "ValuePath",
    "compile_predicate",
    "matches",
    "parse_filter",
    "parse_path",
    "render",
]
