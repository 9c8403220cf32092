"""What every SQL storage part shares: the engine, read and write transactions, retries."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from authority.storage.engine import WRITE

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

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def _write(self, work: Callable[[Connection], T], attempts: int = 3) -> T:
        """Run ``work`` in one write transaction; retry a serialization failure or deadlock."""
        for attempt in range(attempts):
            try:
                with self._writer.begin() as conn:
                    return work(conn)
            except OperationalError as exc:
                if attempt == attempts - 1 or not _retryable(exc):
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def ping(self) -> None:
        with self._read() as conn:
            conn.execute(text("SELECT 1"))
