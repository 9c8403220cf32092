"""What every SQL storage part shares: the engine, read and write transactions, retries."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Executable, Row, text
from sqlalchemy.exc import DBAPIError, OperationalError

from authority.storage import migrate
from authority.storage.engine import WRITE

log = logging.getLogger("authority")
T = TypeVar("T")
# SQLSTATEs worth one more try: serialization failure, deadlock, lock not available.
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}


class Undo(Exception):
    """Raised inside a write transaction to roll it back."""


def split(value: str) -> tuple[str, ...]:
    return tuple(value.split())


def join(values: tuple[str, ...] | list[str]) -> str:
    return " ".join(values)


def _retryable(exc: OperationalError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate in _RETRYABLE_SQLSTATES or "database is locked" in str(exc.orig)


class SqlBase:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**WRITE)
        # Single-statement reads need no transaction: on PostgreSQL autocommit saves the
        # BEGIN and ROLLBACK round trips around every lookup (SQLite reads already skip them).
        self._reader = (
            engine
            if engine.dialect.name == "sqlite"
            else engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        # SQLite has one writer at a time: threads of this process queue on a lock instead
        # of polling SQLite's busy handler (which sleeps 1, 2, 5, 10 ms...). Other processes
        # still wait through busy_timeout.
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )

    def close(self) -> None:
        self.engine.dispose()

    def connections_in_use(self) -> int:
        """Connections of this process's pool lent out now (the metrics' gauge); reads no
        database. A pool that lends one shared connection (in-memory SQLite) counts 0."""
        checkedout = getattr(self.engine.pool, "checkedout", None)
        return int(checkedout()) if callable(checkedout) else 0

    def _query(self, work: Callable[[Connection], T]) -> T:
        """Run a read; a pooled connection the server had dropped is replaced once."""
        try:
            with self._reader.connect() as conn:
                return work(conn)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        with self._reader.connect() as conn:
            return work(conn)

    def _first(self, statement: Executable) -> Row[Any] | None:
        return self._query(lambda conn: conn.execute(statement).first())

    def _all(self, statement: Executable) -> Sequence[Row[Any]]:
        return self._query(lambda conn: conn.execute(statement).all())

    def _write(self, work: Callable[[Connection], T], attempts: int = 3) -> T:
        """Run ``work`` in one write transaction and commit it.

        Retried: a serialization failure, a deadlock or a busy lock (the database rolled the
        transaction back and said so), and a connection lost before COMMIT was sent (a pooled
        connection the server had dropped: without its COMMIT nothing was kept). Never
        retried: a connection lost once COMMIT was sent. The server may have committed, and
        running the work again would act on its own effects (a refresh would find its token
        used and take it for a replay); the error goes up, so the request answers 503 and
        its client may retry.
        """
        for attempt in range(attempts):
            committing = False
            try:
                with self._write_lock, self._writer.connect() as conn:
                    with conn.begin():
                        result = work(conn)
                        committing = True  # leaving the block sends COMMIT
                    return result
            except DBAPIError as exc:
                if committing and exc.connection_invalidated:
                    log.warning("a COMMIT got no answer: the write may or may not have been kept")
                    raise
                answered = isinstance(exc, OperationalError) and _retryable(exc)
                if attempt == attempts - 1 or not (answered or exc.connection_invalidated):
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def ping(self) -> None:
        self._first(text("SELECT 1"))

    def schema_problem(self) -> str | None:
        """``migrate.schema_problem``, a pooled connection the server had dropped replaced."""
        return self._query(migrate.schema_problem)
