"""One engine per process, with SQLite made safe for several workers and writers, and every
wait on the database bounded by AUTHORITY_DATABASE_TIMEOUT."""

from __future__ import annotations

import contextlib
import math
import os
import threading
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import InterfaceError, InternalError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import StaticPool

from authority.settings import DATABASE_TIMEOUT

WRITE = {"authority_write": True}

# Set by the HTTP edge around work it runs in a thread under a deadline: once the event is
# set, the request has been answered 503 and its thread left to finish alone. A write still
# running for it then rolls back instead of committing, so a request answered 503 changed
# nothing, unless its COMMIT was already on its way.
abandoned: ContextVar[threading.Event | None] = ContextVar("authority_abandoned", default=None)


class Abandoned(Exception):
    """A write whose request was answered before it finished: rolled back, not committed."""


def normalize_url(url: str) -> str:
    """Accept postgres:// and postgresql:// and use the psycopg 3 driver for both."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, timeout: float = DATABASE_TIMEOUT) -> Engine:
    """``timeout`` (seconds) bounds each wait: a connection, a statement, a lock. A
    statement's parameters (password and token hashes, addresses) are never written into an
    error's text or SQLAlchemy's log: a traceback shows the SQL without them (the database's
    own message may still name a duplicate key's value)."""
    url = normalize_url(url)
    engine = _sqlite(url, timeout) if is_sqlite(url) else _postgresql(url, timeout)
    event.listen(engine, "commit", _refuse_an_abandoned_commit)
    return engine


def _refuse_an_abandoned_commit(_connection: Any) -> None:
    flag = abandoned.get()
    if flag is not None and flag.is_set():
        # Raised before COMMIT is sent: the transaction is rolled back as the connection
        # goes back to the pool.
        raise Abandoned("the request was answered before this write finished")


def _postgresql(url: str, timeout: float) -> Engine:
    parsed = make_url(url)
    ms = int(timeout * 1000)
    # On the server: no statement (its lock waits included) runs longer than the timeout,
    # and a session left idle inside a transaction (its client stalled or gone) is ended,
    # releasing its locks for the other replicas. A lock_timeout is left out on purpose: its
    # error is one SqlBase retries, which would multiply the wait.
    options = f"-c statement_timeout={ms} -c idle_in_transaction_session_timeout={2 * ms}"
    own = parsed.query.get("options")
    if isinstance(own, str):
        options += " " + own  # later settings win: the URL's own options keep the last word
    whole_seconds = str(math.ceil(timeout))
    bounds = {
        # libpq counts whole seconds and at least 2.
        "connect_timeout": whole_seconds,
        # A peer that vanished (host down, partition) is noticed on an idle connection in
        # about timeout + 3 s, and data left unacknowledged for twice the timeout drops it.
        "keepalives": "1",
        "keepalives_idle": whole_seconds,
        "keepalives_interval": "1",
        "keepalives_count": "3",
        "tcp_user_timeout": str(2 * ms),
    }
    query = {**bounds, **parsed.query, "options": options}
    # No pre-ping: it costs a round trip per checkout on the hot path. A connection the
    # server dropped fails its first statement, is invalidated, and SqlBase retries once.
    # A request waits for a free connection half its deadline at most: when the pool is
    # exhausted it gets a pool TimeoutError (503) and its thread ends, not abandoned.
    return create_engine(
        parsed.set(query=query),
        hide_parameters=True,
        pool_size=10,
        max_overflow=10,
        pool_recycle=1800,
        pool_timeout=timeout / 2,
    )


def _sqlite(url: str, timeout: float) -> Engine:
    kwargs: dict[str, Any] = {
        "connect_args": {"check_same_thread": False, "timeout": timeout},
        "hide_parameters": True,
    }
    if url in ("sqlite://", "sqlite:///:memory:"):
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)
    busy_ms = int(timeout * 1000)
    event.listen(engine, "do_connect", _create_private_file)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions, so writers can BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Another process's write lock is waited for as long as a request may wait.
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
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


def _create_private_file(_dialect: Any, _record: Any, cargs: list[Any], cparams: Any) -> None:
    """A database file about to be created is created first, empty and 0600: it holds
    password hashes and digests of live secrets, as private as the keys. SQLite gives its
    -wal and -shm files the database file's mode. An existing file keeps its mode: the
    operator's choice (a backup group, say) is not overridden."""
    name = str(cargs[0]) if cargs else ""
    if cparams.get("uri") or name in ("", ":memory:"):
        return
    # Already there (FileExistsError), or not creatable (a missing folder, no permission):
    # SQLite opens the former and reports the latter as it always has.
    with contextlib.suppress(OSError):
        os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


# What a database outage looks like: the database unreachable, too slow, or out of
# connections. PEP 249 calls the database's side of it OperationalError (disconnects,
# timeouts, a cancelled statement, a serialization failure), InterfaceError and
# InternalError; its other errors (bad data, a constraint, a missing table) are bugs or a
# broken schema, a retry cannot help, and they are answered as unexpected (500).
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    InternalError,
    PoolTimeout,
)
# Anything the database layer raises (readiness reports it instead of failing).
DatabaseError = SQLAlchemyError
