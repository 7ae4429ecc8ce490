"""gunicorn's logger, told that its own access log is off when ``gunicorn.access`` is quieter than INFO.

gunicorn builds the access line's atoms for every request whenever a logging configuration is given
(``logconfig_dict``), even when the ``gunicorn.access`` logger then drops the line; that cost 3% of a
worker's CPU per ``GET /Users/{id}`` (measured with py-spy). The application writes its own JSON
access line (:mod:`fluid_scim.web.request_log`), so ``gunicorn.conf.py`` keeps gunicorn's at WARNING.
"""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.glogging import Logger


class QuietAccessLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # After the logging configuration is applied: the level gunicorn.conf.py gives gunicorn.access.
        enabled = bool(getattr(self, "_access_log_enabled", True)) and self.access_log.isEnabledFor(logging.INFO)
        self._access_log_enabled = enabled
