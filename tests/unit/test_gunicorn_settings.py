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


def test_the_measuring_settings_count_the_cpu_each_request_spends_in_the_application(tmp_path: Path) -> None:
    """bench/measured_gunicorn.conf.py (bench.bounds): the base settings' server, and counters of the application's CPU."""
    import os

    import requests

    from tests.support.services import VENV_BIN, free_port, wait_until

    port = free_port()
    env = {**os.environ, "PORT": str(port), "WEB_CONCURRENCY": "1", "FLOOR_DATABASE": str(tmp_path / "floor.db"),
           "BENCH_BASE_CONF": str(ROOT / "bench" / "floor_gunicorn.conf.py")}
    with (tmp_path / "gunicorn.log").open("wb") as log:
        server = subprocess.Popen([str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "bench" / "measured_gunicorn.conf.py"),
                                   "bench.floor_app:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        def counters() -> dict[str, float] | None:
            try:
                return requests.get(f"{url}/__bench/cpu", timeout=2).json()
            except requests.RequestException:
                return None

        wait_until(lambda: counters() is not None, timeout=30, what="gunicorn start")
        before = counters()
        created = requests.post(f"{url}/scim/v2/Users", json={"userName": "measured"}, timeout=5)
        read = requests.get(f"{url}/scim/v2/Users/{created.json()['id']}", timeout=5)
        after = counters()
    finally:
        server.terminate()
        server.wait(timeout=15)
    assert (created.status_code, read.json()["userName"]) == (201, "measured")
    assert before is not None and after is not None
    assert after["requests"] - before["requests"] == 2  # the counters' own requests are not counted
    assert after["app_cpu_seconds"] > before["app_cpu_seconds"]
