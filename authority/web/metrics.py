"""Prometheus metrics over HTTP (AUTHORITY_METRICS): the middleware that counts and times
every request, ``GET /metrics``, and the listener of its own (AUTHORITY_METRICS_PORT).

``/metrics`` is answered on the server's own port to a bearer of AUTHORITY_METRICS_TOKEN (else
401 with a Bearer challenge), and on AUTHORITY_METRICS_PORT, which ``authority serve`` opens
beside it, to anyone who reaches it: that listener answers nothing else, every other path
is a 404 that never reaches the OAuth routes. With metrics off (or neither set) it is a 404.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn import Config
from uvicorn.supervisors import Multiprocess

from authority.errors import InvalidToken
from authority.observe.workers import worker_gone
from authority.settings import ConfigError, Settings
from authority.web.edge import Edge, needs
from authority.web.requests import bearer_token
from authority.web.responses import http_error_response

if TYPE_CHECKING:
    from authority.observe.metrics import Metrics
    from authority.runtime import Authority

log = logging.getLogger("authority")
PATH = "/metrics"
UNMATCHED = "unmatched"  # no route matched (a 404): labelled without its path
WRONG_TOKEN = "the metrics token is not this one"  # noqa: S105 (a message)


def route_name(scope: Scope) -> str:
    """A request's route label: the name of the route it matched (never its raw path)."""
    route = scope.get("route")
    return getattr(route, "name", None) or getattr(route, "path", None) or UNMATCHED


def on_metrics_listener(scope: Scope, port: int | None) -> bool:
    """The request came in on AUTHORITY_METRICS_PORT (its socket's own port, not the Host)."""
    server = scope.get("server")
    return port is not None and server is not None and server[1] == port


class RequestMetrics:
    """Counts and times every HTTP request by route name, method and status, from its
    arrival to the end of its answer; on the metrics listener, lets ``/metrics`` alone
    through (uncounted). Does nothing while metrics are off."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._found = False
        self._metrics: Metrics | None = None
        self._port: int | None = None

    def _find(self, scope: Scope) -> None:
        authority: Authority | None = getattr(scope["app"].state, "authority", None)
        if authority is not None:  # (none before the lifespan has built it)
            self._metrics, self._port = authority.metrics, authority.settings.metrics_port
            self._found = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self._found:
            self._find(scope)
        metrics = self._metrics
        if metrics is None:
            await self.app(scope, receive, send)
            return
        if on_metrics_listener(scope, self._port):
            if scope["path"] == PATH:
                await self.app(scope, receive, send)
            else:
                await http_error_response(HTTPException(404))(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        except Exception:
            status = status or 500  # the server error handler, outside, answers it
            raise
        finally:
            if status:  # (not a request cancelled before its answer began)
                seconds = time.perf_counter() - started
                metrics.request(route_name(scope), scope["method"], status, seconds)


@dataclass(frozen=True)
class MetricsEndpoint:
    edge: Edge
    metrics: Metrics | None
    port: int | None  # AUTHORITY_METRICS_PORT
    # SHA-256 of AUTHORITY_METRICS_TOKEN: compared in constant time, whatever the length sent.
    token_digest: bytes | None = field(repr=False)

    @classmethod
    def of(cls, edge: Edge, authority: Authority) -> MetricsEndpoint:
        token = authority.settings.metrics_token
        digest = hashlib.sha256(token.encode()).digest() if token is not None else None
        return cls(edge, authority.metrics, authority.settings.metrics_port, digest)


async def metrics(request: Request) -> Response:
    """The Prometheus text exposition format of every worker's metrics."""
    endpoint = needs(request, MetricsEndpoint)
    found = endpoint.metrics
    if found is None:
        raise HTTPException(404)
    if not on_metrics_listener(request.scope, endpoint.port):
        if endpoint.token_digest is None:
            raise HTTPException(404)
        given = hashlib.sha256(bearer_token(request).encode()).digest()
        if not hmac.compare_digest(given, endpoint.token_digest):
            raise InvalidToken(WRONG_TOKEN)
    found.sample()  # (the limiter's statistics are read on the event loop)
    body = await endpoint.edge.in_thread(found.render)
    return Response(body, media_type=found.content_type, headers={"Cache-Control": "no-store"})


def start_metrics(app: Starlette, authority: Authority) -> list[asyncio.Task[Any]]:
    """At start: outages are counted, and a worker of several writes its own state (pool,
    argon2 queue) for the others to report, every ``sample_seconds``. The tasks to cancel."""
    found = authority.metrics
    if found is None:
        return []
    app.state.outages.listeners.append(found.outage)
    if found.shared is None:
        return []  # one process: sampled when scraped
    return [asyncio.create_task(_sample(found))]


async def _sample(found: Metrics) -> None:
    while True:
        found.sample()
        await asyncio.sleep(found.sample_seconds)


# -- the server: the metrics listener, the workers' supervisor ------------------------------


class Supervisor(Multiprocess):
    """uvicorn's supervisor of ``--workers N``, which also tells the metrics when a worker is
    gone (died and replaced, replaced by a restart, or retired): its gauges leave the sums."""

    def __init__(self, config: Config, sockets: list[socket.socket]) -> None:
        super().__init__(config, sockets)
        self._pids: set[int] = set()

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()
        alive = {p.pid for p in self.processes if p.pid is not None and p.exitcode is None}
        for pid in self._pids - alive:
            worker_gone(pid)
        self._pids = alive


def metrics_listener(settings: Settings) -> socket.socket | None:
    """The socket of AUTHORITY_METRICS_PORT, bound (on AUTHORITY_METRICS_HOST) for the
    workers to serve beside the main one; None without one. A port taken is a ConfigError."""
    if not settings.metrics or settings.metrics_port is None:
        return None
    host, port = settings.metrics_host, settings.metrics_port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"AUTHORITY_METRICS_PORT={port}: cannot listen on {host}: {exc.strerror or exc}"
        ) from None
    sock.set_inheritable(True)  # as uvicorn's own: the workers are spawned with it
    log.info("metrics on http://%s:%d/metrics", f"[{host}]" if ":" in host else host, port)
    return sock
