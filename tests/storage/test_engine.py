"""The engine's bounds (AUTHORITY_DATABASE_TIMEOUT) on SQLite and PostgreSQL, and the rule
that a write whose request was already answered rolls back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from authority.storage import migrate
from authority.storage.engine import Abandoned, abandoned, make_engine
from authority.storage.sql import SqlStorage
from tests.storage.factories import NOW


@pytest.fixture
def bounded(database_url: str) -> Iterator[SqlStorage]:
    storage = SqlStorage(make_engine(database_url, timeout=2))
    yield storage
    storage.close()


def test_the_timeout_bounds_statements_on_the_server_and_lock_waits(bounded: SqlStorage) -> None:
    with bounded.engine.connect() as conn:
        if bounded.engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 2000
        else:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "2s"
            idle = conn.exec_driver_sql("SHOW idle_in_transaction_session_timeout").scalar()
            assert idle == "4s"
            # The URL's own options (here the test schema's search_path) still apply.
            search_path = str(conn.exec_driver_sql("SHOW search_path").scalar())
            assert search_path.startswith("authority_test")


def test_a_failed_statements_error_shows_the_sql_and_never_its_parameters(
    bounded: SqlStorage,
) -> None:
    # Its text is what a traceback in the log shows; parameters are hashes and addresses.
    with pytest.raises(DBAPIError) as failed, bounded.engine.connect() as conn:
        conn.execute(text("INSERT INTO no_such_table VALUES (:name)"), {"name": "hash-of-a-secret"})
    assert "INSERT INTO no_such_table" in str(failed.value)
    assert "hash-of-a-secret" not in str(failed.value)


@pytest.fixture
def bounded_postgres(postgres_url: str) -> Iterator[SqlStorage]:
    """PostgreSQL only: SQLite runs in-process, its only wait is the busy timeout above."""
    storage = SqlStorage(make_engine(postgres_url, timeout=2))
    yield storage
    storage.close()


def test_a_statement_longer_than_the_timeout_is_cancelled_by_postgresql(
    bounded_postgres: SqlStorage,
) -> None:
    with (
        pytest.raises(OperationalError, match="statement timeout"),
        bounded_postgres.engine.connect() as c,
    ):
        c.execute(text("SELECT pg_sleep(10)"))


def test_a_write_whose_request_was_answered_rolls_back(bounded: SqlStorage) -> None:
    flag = threading.Event()
    token = abandoned.set(flag)
    try:
        bounded.deny_access_token("kept", NOW + 60, NOW)
        flag.set()
        with pytest.raises(Abandoned):
            bounded.deny_access_token("abandoned", NOW + 60, NOW)
    finally:
        abandoned.reset(token)
    assert bounded.is_access_token_denied("kept")
    assert not bounded.is_access_token_denied("abandoned")
    # The connection went back to the pool clean: the next write commits.
    bounded.deny_access_token("later", NOW + 60, NOW)
    assert bounded.is_access_token_denied("later")


def test_a_migration_waits_for_another_replicas_past_the_timeout(postgres_url: str) -> None:
    # PostgreSQL only: replicas serialize their migrations with its advisory lock.
    engine = make_engine(postgres_url, timeout=1)
    other = make_engine(postgres_url)
    held = threading.Event()

    def another_replica_migrating() -> None:
        with other.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": migrate._LOCK_ID})
            held.set()
            time.sleep(2)

    replica = threading.Thread(target=another_replica_migrating)
    replica.start()
    try:
        assert held.wait(10)
        migrate.upgrade(engine)  # waits 2 s for the lock: longer than its statement timeout
        assert migrate.is_current(engine)
    finally:
        replica.join()
        engine.dispose()
        other.dispose()
