"""The database backends a run tests: SQLite always, PostgreSQL when ``FLUID_TEST_POSTGRES_URL`` names a server."""

import os

POSTGRES_URL = os.environ.get("FLUID_TEST_POSTGRES_URL", "").strip()
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]
