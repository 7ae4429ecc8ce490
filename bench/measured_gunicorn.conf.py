"""gunicorn settings that split a worker's CPU between the application and gunicorn itself (``bench.bounds``).

Every setting and hook of the configuration named by ``BENCH_BASE_CONF`` (fluid-scim's own
``gunicorn.conf.py`` or the floor's), and one more step once a worker has loaded it: the loaded WSGI application's
``wsgi_app`` is wrapped so that the worker adds up the CPU time of its request thread inside the
application (``time.thread_time``: the middlewares, Flask, the view, the response's making; not
gunicorn's parsing of the request, its writing of the answer or the connection's accept and close).
``GET /__bench/cpu`` answers ``{"requests": n, "app_cpu_seconds": s}`` without being counted, so the
benchmark reads the counters before and after a run; set by nothing but this file.
"""

import json
import os
import runpy
import time
from collections.abc import Callable, Iterable
from typing import Any

_base = runpy.run_path(os.environ["BENCH_BASE_CONF"])
_MODULES = ("gc", "os", "tempfile", "runpy")
globals().update({name: value for name, value in _base.items() if not name.startswith("_") and name not in _MODULES})
COUNTERS_PATH = "/__bench/cpu"


def post_worker_init(worker: object) -> None:
    """After the worker has loaded its application (and run the base configuration's ``post_fork``)."""
    flask_app = worker.wsgi  # type: ignore[attr-defined]  # the loaded application (preload_app)
    inner = flask_app.wsgi_app
    counters = {"requests": 0, "app_cpu_seconds": 0.0}

    def measured(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == COUNTERS_PATH:
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(counters).encode()]
        started = time.thread_time()
        try:
            return inner(environ, start_response)
        finally:
            counters["app_cpu_seconds"] += time.thread_time() - started
            counters["requests"] += 1

    flask_app.wsgi_app = measured
