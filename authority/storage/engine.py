"""One engine per process, with SQLite made safe for several workers and writers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool

WRITE = {"authority_write": True}


def normalize_url(url: str) -> str:
    """Accept postgres:// and postgresql:// and use the psycopg 3 driver for both."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if not is_sqlite(url):
        # No pre-ping: it costs a round trip per checkout on the hot path. A connection the
        # server dropped fails its first statement, is invalidated, and SqlBase retries once.
        return create_engine(url, pool_size=10, max_overflow=10, pool_recycle=1800)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 15}}
    if url in ("sqlite://", "sqlite:///:memory:"):
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions, so writers can BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A write transaction takes the write lock up front: two workers that both read and
        # then try to write would otherwise fail with "database is locked" instead of waiting.
        # Reads are single statements and run in autocommit: no BEGIN/ROLLBACK per lookup.
        if connection.get_execution_options().get("authority_write"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
