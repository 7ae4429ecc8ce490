"""gunicorn.conf.py: what the master does before it forks a worker."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_CHECK = """
import gc, runpy, sys
settings = runpy.run_path(sys.argv[1])
made = [[index] for index in range(50_000)]  # what a loaded application leaves on the heap
assert gc.get_freeze_count() == 0
settings["pre_fork"](None, None)
print(gc.get_freeze_count() >= len(made), len(gc.get_objects()) < len(made))
"""


def test_the_master_freezes_the_loaded_heap_before_each_fork() -> None:
    """Workers' collections then walk only what each worker makes (the gc module's advice for forking servers)."""
    done = subprocess.run(
        [sys.executable, "-c", _CHECK, str(ROOT / "gunicorn.conf.py")], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]


def test_the_floor_of_the_benchmark_freezes_the_same_way() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import runpy, sys; print(runpy.run_path(sys.argv[1])['pre_fork'].__code__.co_filename)",
         str(ROOT / "bench" / "floor_gunicorn.conf.py")],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == ROOT / "gunicorn.conf.py"  # fluid-scim's own pre_fork
