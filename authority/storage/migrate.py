"""Schema upgrades through Alembic, so an upgrade of the package never loses data."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from authority.storage.engine import WRITE, is_sqlite

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_ID = 0x617574686F72  # any constant: serializes replicas that start at once


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe when several processes start at once."""
    config = _config()
    with engine.execution_options(**WRITE).begin() as conn:
        if not is_sqlite(str(engine.url)):
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def is_current(engine: Engine) -> bool:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() == head
