"""The layer contracts in pyproject.toml hold for the tree, and fail for a tree that breaks them.

``make test`` runs ``lint-imports`` on the real tree; these tests prove the contracts can fail by
running it on a copy with one forbidden import added.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PURE = "Pure packages: no web framework, no database BROKEN"


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.json", "static")
    for package in ("fluid_scim", "graphql_admin"):
        shutil.copytree(ROOT / package, tree / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_tree_keeps_every_contract():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("fluid_scim/filters/ast.py", "import flask  # noqa", PURE),
        ("fluid_scim/patch/engine.py", "from fluid_scim.extensions import db  # noqa", PURE),
        (
            "fluid_scim/services/users.py",
            "from fluid_scim.scim_http import responses  # noqa",
            "Layers: entry points above services, above repositories, above models BROKEN",
        ),
        (
            "graphql_admin/queries.py",
            "from fluid_scim.repositories import scim  # noqa",
            "Entry points reach the data only through services BROKEN",
        ),
    ],
    ids=["flask-in-filters", "session-in-patch", "service-imports-entry-point", "resolver-imports-repository"],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, line, contract):
    tree = _copy(tmp_path)
    _append(tree / module, line)
    result = _lint(tree)
    assert result.returncode != 0
    assert contract in result.stdout, result.stdout
