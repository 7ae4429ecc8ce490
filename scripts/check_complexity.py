#!/usr/bin/env python3
"""Fail when a function or method is more complex than the house limit (cyclomatic complexity 15, as radon counts it).

    python scripts/check_complexity.py            # fluid_scim/ and graphql_admin/ of this repository
    python scripts/check_complexity.py DIR_OR_FILE ...

Prints ``path:line name complexity`` for every function, method, nested function and method of a
nested class over the limit, and exits 1 when there is any; exits 0 (printing nothing) otherwise.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from radon.complexity import add_inner_blocks, cc_visit
from radon.visitors import Function

LIMIT = 15
ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("fluid_scim", "graphql_admin")


class Violation(NamedTuple):
    path: str
    line: int
    name: str
    complexity: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.name} {self.complexity}"


def source_violations(source: str, path: str, *, limit: int = LIMIT) -> list[Violation]:
    """The functions and methods of ``source`` whose complexity is over ``limit``, in line order."""
    # radon counts a closure apart from the function around it; add_inner_blocks makes it a block of its own.
    blocks = add_inner_blocks(cc_visit(source))
    found = [
        Violation(path, block.lineno, block.fullname, block.complexity)
        for block in blocks
        if isinstance(block, Function) and block.complexity > limit
    ]
    return sorted(found, key=lambda violation: (violation.line, violation.name))


def _python_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(path.rglob("*.py"))
        else:
            yield path


def violations(paths: Iterable[Path], *, limit: int = LIMIT) -> list[Violation]:
    found: list[Violation] = []
    for file in _python_files(paths):
        shown = file.relative_to(ROOT) if file.is_relative_to(ROOT) else file
        found.extend(source_violations(file.read_text(encoding="utf-8"), str(shown), limit=limit))
    return found


def main(argv: list[str]) -> int:
    paths = [Path(arg).resolve() for arg in argv] or [ROOT / package for package in PACKAGES]
    found = violations(paths)
    for violation in found:
        print(violation)
    if found:
        print(f"{len(found)} function(s) over cyclomatic complexity {LIMIT}: split them by the cases they handle",
              file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
