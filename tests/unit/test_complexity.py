"""scripts/check_complexity.py: a function over cyclomatic complexity 15 fails the check; the packages pass it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_complexity.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("check_complexity", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_complexity = _load_script()


def _branchy(name: str, branches: int, indent: str = "") -> str:
    """A function of complexity ``branches + 1``: one path plus one per ``if``."""
    lines = [f"{indent}def {name}(x):"]
    for number in range(branches):
        lines += [f"{indent}    if x == {number}:", f"{indent}        return {number}"]
    lines.append(f"{indent}    return -1")
    return "\n".join(lines) + "\n"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_complexity_16_is_reported_and_15_is_not():
    fine = _branchy("fine", 14)
    found = check_complexity.source_violations(fine + _branchy("too_complex", 15), "example.py")
    assert [str(violation) for violation in found] == [f"example.py:{fine.count(chr(10)) + 1} too_complex 16"]


def test_methods_and_nested_functions_are_checked():
    method = _branchy("write", 15, indent="    ")
    source = f"class Patcher:\n{method}\n\ndef outer():\n" + _branchy("inner", 16, indent="    ")
    found = check_complexity.source_violations(source, "example.py")
    assert [(violation.name, violation.complexity) for violation in found] == [("Patcher.write", 16), ("outer.inner", 17)]


def test_the_script_fails_on_a_function_of_complexity_16(tmp_path):
    module = tmp_path / "branchy.py"
    module.write_text(_branchy("too_complex", 15), encoding="utf-8")
    run = _run(str(tmp_path))
    assert run.returncode == 1
    assert run.stdout.splitlines() == [f"{module.resolve()}:1 too_complex 16"]
    assert "over cyclomatic complexity 15" in run.stderr


def test_fluid_scim_and_graphql_admin_pass():
    run = _run()
    assert run.returncode == 0, run.stdout
    assert run.stdout == ""
