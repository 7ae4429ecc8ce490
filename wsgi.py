"""gunicorn entry point: ``gunicorn wsgi:app``."""

import sys

from fluid_scim.config import ConfigError

try:
    from app import create_app

    app = create_app()
except ConfigError as exc:
    print(exc.code, file=sys.stderr)
    # 3 is gunicorn's "worker failed to boot": the master stops instead of respawning forever.
    sys.exit(3)
