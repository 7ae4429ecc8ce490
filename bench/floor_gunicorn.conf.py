"""gunicorn settings of the floor: fluid-scim's own ``gunicorn.conf.py``, without its post-fork hook.

Same bind, workers (``WEB_CONCURRENCY``), preloading, timeouts, request-line limit, JSON logging, logger
class and ``pre_fork`` (the heap frozen before each fork, so the floor's workers collect as cheaply
as ours); only ``post_fork`` (which resets fluid-scim's connections) is left out, since the floor
opens its SQLite connection in each worker on first use.
"""

import runpy
from pathlib import Path

_settings = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))

bind = _settings["bind"]
workers = _settings["workers"]
accesslog = _settings["accesslog"]
graceful_timeout = _settings["graceful_timeout"]
preload_app = _settings["preload_app"]
timeout = _settings["timeout"]
limit_request_line = _settings["limit_request_line"]
logconfig_dict = _settings["logconfig_dict"]
logger_class = _settings["logger_class"]
pre_fork = _settings["pre_fork"]
