"""What the metrics cost per request, in process: the app driven through ASGI (no socket,
no HTTP parser, no load generator), metrics off against metrics on, in the same process.

    python -m bench.metrics_overhead [--requests 500] [--rounds 30] [--shared]

Each round sends ``--requests`` client_credentials token requests (the cheapest token: no
database once the client is cached, no thread) and as many ``GET /healthz`` to one app with
metrics off and to one with metrics on, in turn, timed by this process's CPU time (which
other processes on a busy machine inflate less than the wall clock); the median round of
each counts. The difference is what the metrics path adds: the middleware, and for a token
the token.issued event and its counter. ``--shared`` keeps the metrics as the workers of
``serve --workers N`` do, in files (prometheus-client's multiprocess mode). Run it pinned
(``taskset -c 0``); it prints microseconds per request and the target of bench/targets.toml.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the ``bench`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

Message = dict[str, Any]
App = Callable[
    [dict[str, Any], Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]
TOKEN_BODY = b"grant_type=client_credentials&scope=read"


def scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def send_many(app: App, method: str, path: str, headers: Any, body: bytes, n: int) -> float:
    """Seconds for ``n`` requests, one after the other; each must answer 200."""
    statuses: list[int] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.process_time()
    for _ in range(n):
        await app(scope(method, path, headers), receive, send)
    elapsed = time.process_time() - started
    if set(statuses) != {200}:
        raise RuntimeError(f"{method} {path}: statuses {sorted(set(statuses))}")
    return elapsed


async def measure(args: argparse.Namespace, work: Path) -> dict[str, dict[str, float]]:
    from starlette.types import ASGIApp

    from authority.admin.bootstrap import prepare
    from authority.admin.provision import Admin
    from authority.runtime import Authority
    from authority.settings import Settings
    from authority.storage.sql import SqlStorage
    from authority.web.app import create_app

    base = Settings(
        issuer="http://127.0.0.1:8000",
        database_url=f"sqlite:///{work / 'authority.db'}",
        keys_dir=work / "keys",
        client_cache_ttl=300,
    )
    storage = SqlStorage.from_url(base.database_url)
    prepare(base, storage)
    client, secret = Admin(base, storage).create_client(
        "bench", ["client_credentials"], ["read"], ["read"], ["https://api.example"]
    )
    auth = base64.b64encode(f"{client.client_id}:{secret}".encode())
    token_headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"authorization", b"Basic " + auth),
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"content-length", str(len(TOKEN_BODY)).encode()),
    ]
    health_headers = [(b"host", b"127.0.0.1:8000")]
    apps: dict[str, ASGIApp] = {}
    lifespans = []
    for name, on in (("off", False), ("on", True)):
        settings = base.replace(
            metrics=on, metrics_token="bench-metrics-token-0123" if on else None
        )
        app = create_app(authority=Authority(settings, storage))
        lifespans.append(app.router.lifespan_context(app))
        await lifespans[-1].__aenter__()
        apps[name] = app
    rounds: dict[tuple[str, str], list[float]] = {}
    try:
        for _ in range(args.rounds):
            for name, app in apps.items():
                for label, method, path, headers, body in (
                    ("token", "POST", "/token", token_headers, TOKEN_BODY),
                    ("healthz", "GET", "/healthz", health_headers, b""),
                ):
                    seconds = await send_many(app, method, path, headers, body, args.requests)
                    rounds.setdefault((name, label), []).append(seconds / args.requests * 1e6)
    finally:
        for lifespan in lifespans:
            await lifespan.__aexit__(None, None, None)
        storage.close()
    median: dict[str, dict[str, float]] = {"off": {}, "on": {}}
    for (name, label), found in rounds.items():
        median[name][label] = statistics.median(found)
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per round and app")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--shared", action="store_true", help="the workers' multiprocess mode")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="authority-bench-metrics-") as work:
        if args.shared:  # before prometheus-client is first imported, as serve does it
            shared = Path(work) / "shared"
            shared.mkdir()
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(shared)
        best = asyncio.run(measure(args, Path(work)))
    from bench import report

    mode = "files (--workers N)" if args.shared else "memory (one worker)"
    print(f"metrics kept in {mode}; median of {args.rounds} rounds of {args.requests} requests")
    print(f"{'CPU per request':<22} {'off us':>8} {'on us':>8} {'added us':>9} {'ratio':>6}")
    for label, what in (("token", "POST /token (cc)"), ("healthz", "GET /healthz")):
        off, on = best["off"][label], best["on"][label]
        print(f"{what:<22} {off:8.1f} {on:8.1f} {on - off:9.1f} {off / on:6.3f}")
    added = best["on"]["token"] - best["off"]["token"]
    print(report.check("metrics_overhead", "added_us", added))


if __name__ == "__main__":
    main()
