"""Every SQLite connection the application opens gets its settings (fluid_scim/database.py)."""

from pathlib import Path

from sqlalchemy import create_engine

import fluid_scim.database  # noqa: F401  (registers the connect hook)
from fluid_scim.database import WAL_AUTOCHECKPOINT_PAGES


def test_a_new_connection_has_wal_normal_sync_foreign_keys_and_rare_checkpoints(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'settings.db'}")
    try:
        with engine.connect() as connection:
            read = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                    for name in ("journal_mode", "synchronous", "foreign_keys", "wal_autocheckpoint", "busy_timeout")}
    finally:
        engine.dispose()
    assert read == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1,
                    "wal_autocheckpoint": WAL_AUTOCHECKPOINT_PAGES, "busy_timeout": 15000}
