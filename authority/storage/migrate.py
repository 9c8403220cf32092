"""Schema upgrades through Alembic, so an upgrade of the package never loses data.

Alembic is imported only when an upgrade is due: checking the revision is one query, and a
server whose schema is current does not carry Alembic in memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from authority.storage.engine import WRITE, is_sqlite
from authority.storage.tables import metadata

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision in migrations/versions; a test holds it equal to Alembic's head.
HEAD = "0013"
_LOCK_ID = 0x617574686F72  # any constant: serializes replicas that start at once


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head() -> str | None:
    """Alembic's own idea of the head revision."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe when several processes start at once."""
    from alembic import command

    config = _config()
    with engine.execution_options(**WRITE).begin() as conn:
        if not is_sqlite(str(engine.url)):
            # A migration may rewrite a large table, and waits for another replica's: the
            # statement timeout that bounds requests does not apply here.
            conn.execute(text("SET LOCAL statement_timeout = 0"))
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def is_current(engine: Engine) -> bool:
    return current(engine) == HEAD


def schema_problem(conn: Connection) -> str | None:
    """What keeps this release from using the schema, or None: every table is there and the
    revision is HEAD. Two catalog reads, cheap enough for a readiness probe."""
    present = set(inspect(conn).get_table_names())
    if not {"alembic_version", *(t.name for t in metadata.sorted_tables)} <= present:
        return "schema missing"
    revisions = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    return None if revisions == {HEAD} else "wrong schema revision"
