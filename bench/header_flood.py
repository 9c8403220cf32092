"""The worker's memory under a header flood: N connections each sending a huge header.

    .venv/bin/python bench/header_flood.py [--connections 8] [--mib 40] [--workers 1]

Starts ``authority serve`` on a fresh SQLite database (its defaults: a 16 KiB header cap),
reads each worker's RSS from /proc, opens the connections, and on each sends a request line,
then one header line of ``--mib`` MiB in 64 KiB writes, then the blank line. While they
send, it samples the workers' RSS every 20 ms and times a /healthz request every 100 ms.
Prints one JSON object: RSS before, at its peak and after (MB, the sum over workers), the
answers the flooding connections got, the bytes they managed to send, the slowest /healthz.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import HOST, authority_serve, free_port, fresh_database

CHUNK = 64 * 1024
SEND_LIMIT = 60.0  # seconds one flooding connection may take


def healthz(port: int, timeout: float) -> float | None:
    """Seconds /healthz took to answer 200, or None."""
    start = time.perf_counter()
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            answer = sock.recv(4096)
    except OSError:
        return None
    return time.perf_counter() - start if answer.startswith(b"HTTP/1.1 200") else None


def flood(port: int, mib: int, result: dict[str, Any]) -> None:
    """One connection: a request line, then a header line of ``mib`` MiB, as fast as the
    server takes it; records the bytes sent and the status line it got, if any."""
    sent = 0
    status = None
    chunk = b"a" * CHUNK
    deadline = time.monotonic() + SEND_LIMIT
    try:
        with socket.create_connection((HOST, port), timeout=10) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Flood: ")
            try:
                while sent < mib * 1024 * 1024 and time.monotonic() < deadline:
                    sock.sendall(chunk)
                    sent += CHUNK
                sock.sendall(b"\r\n\r\n")
            except OSError:
                pass  # the server refused and stopped reading
            try:
                first = sock.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
                status = first or "closed"
            except OSError as exc:
                status = f"{type(exc).__name__}"
    except OSError as exc:
        status = f"{type(exc).__name__}"
    result["sent_mib"] = round(sent / 1024 / 1024, 2)
    result["answer"] = status


def watch(
    port: int, threads: list[threading.Thread], rss: Callable[[], float]
) -> tuple[float, float, int]:
    """While the floods run: the peak RSS every 20 ms, a /healthz every 100 ms (the slowest
    in seconds, and how many failed)."""
    peak, slowest, failed, last_probe = 0.0, 0.0, 0, 0.0
    while any(t.is_alive() for t in threads):
        peak = max(peak, rss())
        if time.monotonic() - last_probe > 0.1:
            last_probe = time.monotonic()
            took = healthz(port, 5)
            if took is None:
                failed += 1
            else:
                slowest = max(slowest, took)
        time.sleep(0.02)
    return peak, slowest, failed


def run(connections: int, mib: int, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="header-flood-") as name:
        tmp, port = Path(name), free_port()
        with fresh_database("sqlite", tmp) as db:
            log = tmp / "serve.log"
            with authority_serve(db, port, log, workers, AUTHORITY_LOG_LEVEL="WARNING") as server:
                server.wait_ready(port, "/healthz")

                def rss() -> float:
                    return sum(server.rss_mb())

                before = rss()
                results: list[dict[str, Any]] = [{} for _ in range(connections)]
                threads = [
                    threading.Thread(target=flood, args=(port, mib, results[i]), daemon=True)
                    for i in range(connections)
                ]
                start = time.monotonic()
                for thread in threads:
                    thread.start()
                peak, slowest, failed = watch(port, threads, rss)
                seconds = time.monotonic() - start
                time.sleep(1)
                after = rss()
    return {
        "connections": connections,
        "header_mib": mib,
        "workers": workers,
        "rss_mb": {
            "before": round(before, 1),
            "peak": round(max(peak, before), 1),
            "after": round(after, 1),
        },
        "flood_seconds": round(seconds, 2),
        "answers": [r.get("answer") for r in results],
        "sent_mib": [r.get("sent_mib") for r in results],
        "healthz": {"slowest_ms": round(slowest * 1000, 1), "failed": failed},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--mib", type=int, default=40, help="size of each header line, MiB")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(run(args.connections, args.mib, args.workers), indent=2))


if __name__ == "__main__":
    main()
