"""The fault proxy itself, against the real PostgreSQL: each fault does what it says."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from tests.faults.proxy import FaultProxy


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def test_forwards_statements_and_answers(proxied_url: str) -> None:
    with psycopg.connect(_dsn(proxied_url), connect_timeout=5) as conn:
        assert conn.execute("SELECT 41 + 1").fetchone() == (42,)


def test_a_stall_holds_the_answer_until_restored(proxied_url: str, proxy: FaultProxy) -> None:
    with psycopg.connect(_dsn(proxied_url), connect_timeout=5, autocommit=True) as conn:
        proxy.stall()
        threading.Timer(0.5, proxy.restore).start()
        started = time.monotonic()
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert time.monotonic() - started >= 0.4


def test_a_stall_hangs_new_connections(proxied_url: str, proxy: FaultProxy) -> None:
    proxy.stall()
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(_dsn(proxied_url), connect_timeout=2)
    assert time.monotonic() - started >= 1.5
    proxy.restore()


def test_a_cut_breaks_open_connections_only(proxied_url: str, proxy: FaultProxy) -> None:
    conn = psycopg.connect(_dsn(proxied_url), connect_timeout=5, autocommit=True)
    proxy.cut()
    with pytest.raises(psycopg.OperationalError):
        conn.execute("SELECT 1")
    conn.close()
    with psycopg.connect(_dsn(proxied_url), connect_timeout=5) as fresh:
        assert fresh.execute("SELECT 1").fetchone() == (1,)


def test_refused_then_restored(proxied_url: str, proxy: FaultProxy) -> None:
    proxy.refuse()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(_dsn(proxied_url), connect_timeout=2)
    proxy.restore()
    with psycopg.connect(_dsn(proxied_url), connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_lost_answer_means_the_work_was_done(proxied_url: str, proxy: FaultProxy) -> None:
    with psycopg.connect(_dsn(proxied_url), connect_timeout=5) as setup:
        setup.execute("CREATE TABLE proxy_probe (n int)")
        setup.commit()
    conn = psycopg.connect(_dsn(proxied_url), connect_timeout=5)
    conn.execute("INSERT INTO proxy_probe VALUES (7)")
    proxy.lose_answer_to(b"COMMIT")
    with pytest.raises(psycopg.OperationalError):
        conn.commit()
    conn.close()
    assert proxy.answers_lost == 1
    with psycopg.connect(_dsn(proxied_url), connect_timeout=5, autocommit=True) as check:
        # The client learnt of the loss at once; the server may still be running the COMMIT.
        deadline = time.monotonic() + 5
        while not (rows := check.execute("SELECT n FROM proxy_probe").fetchall()):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert rows == [(7,)]
        check.execute("DROP TABLE proxy_probe")
