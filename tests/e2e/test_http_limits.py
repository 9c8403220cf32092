"""The HTTP limits of `authority serve`, over raw sockets: header size, header and body read
timeouts, the idle keep-alive timeout and the number of connections a worker holds."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.raw_http import (
    closed_after,
    connect,
    read_answer,
    request_head,
    rss_bytes,
    sqlite_url,
)
from tests.e2e.servers import AUTHORITY, _running, environment, free_port, serve

__all__ = ["sqlite_url"]  # a fixture
pytestmark = pytest.mark.e2e
KIB = 1024
TOO_LARGE = {
    "error": "invalid_request",
    "error_description": "the request headers are larger than 16384 bytes",
}
HEADERS_TIMEOUT = {
    "error": "invalid_request",
    "error_description": "the request headers did not arrive in time",
}
BODY_TIMEOUT = {
    "error": "invalid_request",
    "error_description": "the request body did not arrive in time",
}


@dataclass
class Served:
    port: int
    pid: int


@pytest.fixture
def start(sqlite_url: str, tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Starts `authority serve` with extra arguments and AUTHORITY_* settings; stops it at
    the end of the test."""
    with ExitStack() as running:

        def start(*args: str, **settings: str) -> Served:
            port = free_port()
            env = environment(sqlite_url, tmp_path / "keys", f"http://127.0.0.1:{port}", **settings)
            proc = running.enter_context(serve(env, port, *args, log=tmp_path / "serve.log"))
            return Served(port, proc.pid)

        yield start


def pad(size: int) -> str:
    """A header line of ``size`` bytes in all."""
    return "X-Pad: " + "a" * (size - len("X-Pad: \r\n"))


def test_headers_over_16_kib_get_431_and_the_connection_closes(
    start: Callable[..., Served],
) -> None:
    server = start()
    with connect(server.port) as sock:
        sock.sendall(request_head("/healthz", pad(15 * KIB)))
        assert read_answer(sock).status == 200

        sock.sendall(request_head("/healthz", pad(17 * KIB)))
        answer = read_answer(sock)
        assert (answer.status, answer.json()) == (431, TOO_LARGE)
        assert answer.headers["connection"] == "close"
        assert closed_after(sock, 5) is not None


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):  # the server stops reading once it has refused
        sock.sendall(data)


def test_an_8_mb_header_line_gets_431_and_the_worker_stays_small(
    start: Callable[..., Served],
) -> None:
    server = start()
    line = b"X-Big: " + b"a" * (8 * 1024 * KIB) + b"\r\n\r\n"
    before = rss_bytes(server.pid)
    with ExitStack() as open_:
        socks = [open_.enter_context(connect(server.port)) for _ in range(4)]
        senders = []
        for sock in socks:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            sender = threading.Thread(target=_send_quietly, args=(sock, line))
            sender.start()
            senders.append(sender)
        answers = [read_answer(sock) for sock in socks]
        for sender in senders:
            sender.join(timeout=30)
        grown = rss_bytes(server.pid) - before
    assert [(a.status, a.json()) for a in answers] == [(431, TOO_LARGE)] * 4
    # 32 MB of header were sent; the worker holds at most a read or two of each.
    assert grown < 8 * 1024 * KIB, f"RSS grew by {grown / 1024 / KIB:.1f} MB"


@pytest.mark.timing
def test_a_connection_stuck_in_its_headers_is_closed_by_the_header_timeout(
    start: Callable[..., Served],
) -> None:
    server = start(AUTHORITY_HEADER_TIMEOUT="2")
    with connect(server.port) as half, connect(server.port) as trickle:
        silent = connect(server.port)
        began = time.monotonic()
        half.sendall(b"GET /healthz HT")
        # A slowloris: one byte of a header every 0.2 s, for longer than the timeout.
        for byte in b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 30:
            if select.select([trickle], [], [], 0.2)[0] or time.monotonic() - began > 5:
                break  # answered (or, before the fix, never)
            trickle.sendall(bytes([byte]))
        answers = [read_answer(half), read_answer(trickle)]
        # A connection that never sent a byte is closed without an answer.
        with silent:
            assert silent.recv(1024) == b""
        elapsed = time.monotonic() - began
    assert [(a.status, a.json()) for a in answers] == [(408, HEADERS_TIMEOUT)] * 2
    assert all(a.headers["connection"] == "close" for a in answers)
    assert 1.5 < elapsed < 6, elapsed


@pytest.mark.timing
def test_the_default_header_timeout_closes_a_half_request_line_within_10_s(
    start: Callable[..., Served],
) -> None:
    server = start()
    with connect(server.port, timeout=20) as sock:
        sock.sendall(b"GET /healthz HT")
        closed = closed_after(sock, 15)
    assert closed is not None and 9 < closed < 13, closed


@pytest.mark.timing
def test_a_trickled_body_is_cut_off_by_the_body_timeout(start: Callable[..., Served]) -> None:
    server = start(AUTHORITY_BODY_TIMEOUT="2")
    head = request_head(
        "/token",
        "Content-Type: application/x-www-form-urlencoded",
        "Content-Length: 200",
        method="POST",
    )
    with connect(server.port) as sock:
        sock.sendall(head)
        began = time.monotonic()
        # One byte of the body every 0.2 s: 40 s for all of it.
        while not select.select([sock], [], [], 0.2)[0] and time.monotonic() - began < 8:
            sock.sendall(b"a")
        answer = read_answer(sock)
        elapsed = time.monotonic() - began
    assert (answer.status, answer.json()) == (408, BODY_TIMEOUT)
    assert answer.headers["connection"] == "close"
    assert 1.5 < elapsed < 6, elapsed


@pytest.mark.timing
def test_an_idle_keep_alive_connection_is_closed_after_the_configured_timeout(
    start: Callable[..., Served],
) -> None:
    server = start(AUTHORITY_KEEPALIVE_TIMEOUT="1")
    with connect(server.port) as sock:
        sock.sendall(request_head("/healthz"))
        assert read_answer(sock).status == 200
        closed = closed_after(sock, 3.5)  # uvicorn's default is 5 s
    assert closed is not None and closed > 0.5, closed


def _healthz(port: int, timeout: float) -> int:
    return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=timeout).status_code


@pytest.mark.timing
def test_healthz_answers_while_300_slow_connections_hold_every_descriptor(
    sqlite_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = environment(sqlite_url, tmp_path / "keys", f"http://127.0.0.1:{port}")
    # A worker that may open only 256 files: 300 slow clients are more than it can hold.
    command = ["prlimit", "--nofile=256:256", AUTHORITY, "serve", "--port", str(port)]
    ready = f"http://127.0.0.1:{port}/readyz"
    with (
        _running("authority serve", command, env, ready, tmp_path / "serve.log"),
        ExitStack() as open_,
    ):
        for _ in range(300):
            sock = open_.enter_context(connect(port))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        began = time.monotonic()
        statuses = [_healthz(port, 2) for _ in range(5)]
        elapsed = time.monotonic() - began
    assert statuses == [200] * 5
    assert elapsed < 5, elapsed


def test_past_max_connections_the_longest_waiting_connection_is_closed(
    start: Callable[..., Served],
) -> None:
    server = start(AUTHORITY_MAX_CONNECTIONS="20")
    with ExitStack() as open_:
        socks = [open_.enter_context(connect(server.port)) for _ in range(30)]
        assert _healthz(server.port, 2) == 200
        # 31 connections came for 20 places: the 11 that waited longest were closed.
        assert all(closed_after(sock, 2) is not None for sock in socks[:11])
        assert all(closed_after(sock, 0.1) is None for sock in socks[11:])


def test_the_limits_hold_in_every_worker(start: Callable[..., Served]) -> None:
    server = start("--workers", "2", AUTHORITY_HEADER_TIMEOUT="2")
    with ExitStack() as open_:
        large = [open_.enter_context(connect(server.port)) for _ in range(6)]
        stuck = [open_.enter_context(connect(server.port)) for _ in range(6)]
        for sock in large:
            sock.sendall(request_head("/healthz", pad(17 * KIB)))
        for sock in stuck:
            sock.sendall(b"GET /healthz HT")
        refused = [read_answer(sock) for sock in large]
        timed_out = [read_answer(sock) for sock in stuck]
    assert [(a.status, a.json()) for a in refused] == [(431, TOO_LARGE)] * 6
    assert [(a.status, a.json()) for a in timed_out] == [(408, HEADERS_TIMEOUT)] * 6
