"""The HTTP server: uvicorn with the limits a server open to the network needs, and an access
log that never carries a secret.

uvicorn's httptools protocol has no cap on the size of a request's head, no timeout while the
head or the body arrives, and no bound on the connections a worker holds. Its h11 protocol
has a cap (``h11_max_incomplete_event_size``) but no timeouts either, and ``limit_concurrency``
answers 503 to every new request, ``/healthz`` included, once slow clients hold enough
connections. So ``LimitedHttpToolsProtocol`` adds the four limits to the httptools protocol:

- a request head (request line and header fields) over ``max_header_bytes`` gets 431; the
  count runs as the bytes arrive, so no more than one read beyond the cap is ever held;
- a head not complete ``header_timeout`` seconds after the connection opened, or after its
  first byte arrived on a kept-alive connection, gets 408 (or, if nothing came, is closed);
- a body not complete ``body_timeout`` seconds after its head gets 408; the app's read of it
  ends as a disconnect;
- past ``max_connections`` open connections, the one that has waited longest for a request
  is closed (a request being answered is never cut); a worker's open-file limit is raised to
  its hard limit at start, and ``max_connections`` kept below it.

Every refusal ends the connection with ``Connection: close`` after a short linger, so that a
client still sending reads the answer instead of a reset. ``ServerConfig`` carries the limits
into every worker (uvicorn pickles its config into each process of ``--workers N``), with the
settings the app is built from (``AppFactory``); and the logging configuration (text or JSON,
``logging_config``), applied again in each worker, redacts the access log.
"""

from __future__ import annotations

import asyncio
import copy
import http
import itertools
import json
import logging
import re
import resource
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import httptools
import uvicorn
from starlette.applications import Starlette
from uvicorn.config import LOGGING_CONFIG, STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from authority.observe import logs
from authority.observe.workers import shared_metrics
from authority.settings import Settings
from authority.web.app import create_app
from authority.web.metrics import Supervisor, metrics_listener

# Descriptors a worker keeps for itself beyond its connections: database pool, key files,
# logs, the pipes to its supervisor.
FILES_RESERVED = 100
# Seconds a refused connection is still read (and what comes dropped) before it is closed:
# closing with unread bytes would reset the connection and lose the answer on its way.
LINGER = 2.0
# Query parameters whose values never reach the access log: link tokens, codes, anything
# named like a credential. Matched against the decoded name, anywhere in it.
SECRET_NAME = re.compile(
    r"token|secret|pass|pwd|code|key|state|nonce|assertion|ticket|signature|otp|auth|session"
    r"|credential",
    re.IGNORECASE,
)
REDACTED = "[redacted]"
log = logging.getLogger("authority")


@dataclass(frozen=True)
class HttpLimits:
    max_header_bytes: int = 16 * 1024
    header_timeout: float = 10
    body_timeout: float = 30
    max_connections: int = 1000


@dataclass(frozen=True)
class AppFactory:
    """Builds the app from the settings it carries: pickled into every worker with the
    configuration, so a worker reads no environment of its own (``authority serve`` may
    have set the issuer from its options)."""

    settings: Settings

    def __call__(self) -> Starlette:
        # In each worker: a logging configuration has no key for it.
        logs.capture_warnings(self.settings.log_format)
        return create_app(self.settings)


class ServerConfig(uvicorn.Config):
    """uvicorn's configuration and the limits of our protocol, pickled whole into workers."""

    def __init__(self, app: str | AppFactory, limits: HttpLimits, **options: Any) -> None:
        super().__init__(app, **options)
        self.limits = limits


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a request that was refused."""


_waiting_order = itertools.count()


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a head-size cap, head and body timeouts, and a
    bound on open connections (see the module's docstring)."""

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = config.limits if isinstance(config, ServerConfig) else HttpLimits()
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        # The next bytes belong to a request's head; some of it has arrived.
        self._awaiting_head = True
        self._head_started = False
        self._head_completed = False  # during one feed of the parser
        self._head_bytes = 0  # bytes of reads that fell wholly in the head
        self._parsed_head_bytes = 0  # the request target and header fields parsed so far
        self._refused = False
        # Rank among connections waiting for a request: the lowest has waited longest.
        self._waiting_since = next(_waiting_order)

    # -- the connection --------------------------------------------------------------------

    # uvicorn's own signature (and ignore): asyncio.Transport, where asyncio.Protocol says
    # BaseTransport.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer = self._later(self.limits.header_timeout, self._head_overdue)
        self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # uvicorn's own, with the head counted and timed, and refused requests dropped.
        if self._refused:
            return
        self._unset_keepalive_if_required()
        wholly_in_head = self._awaiting_head
        if wholly_in_head:
            self._head_started = True
            if self._header_timer is None:
                self._header_timer = self._later(self.limits.header_timeout, self._head_overdue)
        self._head_completed = False
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._refused:
                return  # a callback refused the request and answered it
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        except httptools.HttpParserUpgrade:
            self._cancel_timers()
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if wholly_in_head and self._awaiting_head and not self._head_completed:
            # Nothing of this read was parsed into a field yet (a long header line stays in
            # the parser until it ends): count the bytes as they come.
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_header_bytes:
                self._refuse_head(431, self._too_large())

    # -- the parser's callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_head = self._head_started = True
        self._parsed_head_bytes = 0
        if self._header_timer is None:
            self._header_timer = self._later(self.limits.header_timeout, self._head_overdue)

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._count_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._count_head(len(name) + len(value) + 4)  # ": " and CRLF

    def on_headers_complete(self) -> None:
        self._cancel("_header_timer")
        self._awaiting_head = self._head_started = False
        self._head_completed = True
        self._head_bytes = 0
        super().on_headers_complete()
        self._body_timer = self._later(self.limits.body_timeout, self._body_overdue)

    def on_message_complete(self) -> None:
        self._cancel("_body_timer")
        self._awaiting_head = True
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self._waiting_since = next(_waiting_order)
        super().on_response_complete()

    # -- limits ----------------------------------------------------------------------------

    def _count_head(self, size: int) -> None:
        self._parsed_head_bytes += size
        if self._parsed_head_bytes > self.limits.max_header_bytes:
            self._refuse_head(431, self._too_large())
            raise _Refused()

    def _too_large(self) -> str:
        return f"the request headers are larger than {self.limits.max_header_bytes} bytes"

    def _head_overdue(self) -> None:
        self._header_timer = None
        if not self._between_requests():
            # A pipelined request's head waits behind the answer to the one before.
            self._header_timer = self._later(self.limits.header_timeout, self._head_overdue)
        elif self._head_started:
            self._refuse_head(408, "the request headers did not arrive in time")
        else:
            self._refuse(None)

    def _body_overdue(self) -> None:
        self._body_timer = None
        if self.cycle is not None and not self.cycle.response_started:
            self._refuse(408, "the request body did not arrive in time")
        else:
            self._refuse(None)  # answered already, without reading the whole body

    def _between_requests(self) -> bool:
        """No request of this connection is being answered: it waits for one (idle, or its
        head arriving), or it was refused."""
        idle = self.cycle is None or self.cycle.response_complete
        return self._refused or (self._awaiting_head and idle)

    def _make_room(self) -> None:
        """Past max_connections, close the connection that has waited longest for a request:
        slow or idle clients cannot take every place, and an answer is never cut."""
        if len(self.connections) <= self.limits.max_connections:
            return
        live = [c for c in self.connections if not c.transport.is_closing()]
        if len(live) <= self.limits.max_connections:
            return
        waiting = [
            c for c in live if isinstance(c, LimitedHttpToolsProtocol) and c._between_requests()
        ]
        oldest = min(waiting, key=lambda c: (not c._refused, c._waiting_since), default=self)
        self.logger.debug("%d connections open: closing one that waits for a request", len(live))
        if oldest is self or oldest._head_started:
            oldest._refuse(503, "the server is busy; try again later", linger=False)
        else:
            oldest._refuse(None, linger=False)

    # -- refusing --------------------------------------------------------------------------

    def _refuse_head(self, status: int, detail: str) -> None:
        # Behind the answer to a pipelined request, no second answer can be written.
        idle = self.cycle is None or self.cycle.response_complete
        self._refuse(status if idle else None, detail)

    def _refuse(self, status: int | None, detail: str = "", linger: bool = True) -> None:
        """Answer ``status`` (None: no answer), parse nothing more, and close the connection:
        after the linger, or at once."""
        if self._refused:
            return
        self._refused = True
        self._cancel_timers()
        self._unset_keepalive_if_required()
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            # The app's read of the body ends as a disconnect, and its answer is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        if status is not None:
            peer = "{}:{}".format(*self.client) if self.client else "-"
            self.logger.info("%s - %d: %s", peer, status, detail)
            self.transport.write(self._answer(status, detail))
        if linger and self.transport.can_write_eof():
            self.transport.write_eof()
            self._linger_timer = self._later(LINGER, self.transport.close)
        else:
            self.transport.close()

    def _answer(self, status: int, detail: str) -> bytes:
        error = "temporarily_unavailable" if status == 503 else "invalid_request"
        body = json.dumps({"error": error, "error_description": detail}).encode()
        phrase = http.HTTPStatus(status).phrase
        lines = [f"HTTP/1.1 {status} {phrase}".encode()]
        lines += [name + b": " + value for name, value in self.server_state.default_headers]
        lines += [
            b"content-type: application/json",
            b"cache-control: no-store",
            b"content-length: %d" % len(body),
            b"connection: close",
        ]
        return b"\r\n".join(lines) + b"\r\n\r\n" + body

    # -- timers ----------------------------------------------------------------------------

    def _later(self, delay: float, callback: Callable[[], object]) -> asyncio.TimerHandle:
        return self.loop.call_later(delay, callback)

    def _cancel(self, name: str) -> None:
        timer: asyncio.TimerHandle | None = getattr(self, name)
        if timer is not None:
            timer.cancel()
            setattr(self, name, None)

    def _cancel_timers(self) -> None:
        for name in ("_header_timer", "_body_timer", "_linger_timer"):
            self._cancel(name)


# -- the access log ------------------------------------------------------------------------


def redact_query(target: str) -> str:
    """``path?query`` with the value of every parameter named like a secret redacted."""
    path, mark, query = target.partition("?")
    if not mark:
        return target
    parts = []
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        if equals and value and SECRET_NAME.search(unquote_plus(name)):
            part = f"{name}={REDACTED}"
        parts.append(part)
    return f"{path}?{'&'.join(parts)}"


class RedactQuerySecrets(logging.Filter):
    """On uvicorn's access log: a link's token (``GET /accounts/verify-email?token=...``)
    and any other query value named like a secret is logged as ``[redacted]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn logs (client, method, path with query, HTTP version, status).
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact_query(args[2]), args[3], args[4])
        return True


def logging_config(settings: Settings, access_log: bool) -> dict[str, Any]:
    """The log's configuration (``authority.observe.logs``) with uvicorn's loggers in it;
    uvicorn applies it again in every worker process. In text, uvicorn writes its lines as
    it always did, its access line redacted. In json, its lines are JSON too, and its access
    line gives way to the app's (``authority.web.access_log``): one line per request, with
    the route, latency and client that uvicorn cannot know."""
    json_lines = settings.log_format == "json"
    config = logs.logging_config(
        settings.log_format, settings.log_level, access_lines=json_lines and access_log
    )
    if json_lines:
        config["loggers"].update(
            {
                "uvicorn": {"level": "INFO"},  # to the root's handler
                "uvicorn.error": {"level": "INFO"},
                "uvicorn.access": {"handlers": [], "propagate": False},
            }
        )
        return config
    uvicorn = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"].update(uvicorn["formatters"])
    config["handlers"].update(uvicorn["handlers"])
    config["filters"]["query_secrets"] = {"()": f"{__name__}.RedactQuerySecrets"}
    config["loggers"].update(uvicorn["loggers"])
    config["loggers"]["uvicorn.access"]["filters"] = ["query_secrets"]
    return config


# -- running -------------------------------------------------------------------------------


def raise_open_files_limit() -> int:
    """Raise the soft limit of open files to the hard limit (workers inherit it); the soft
    limit in force after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):  # an unlimited hard limit the kernel caps lower
            pass
    return soft


def http_limits(settings: Settings, open_files: int) -> HttpLimits:
    """The limits from settings, with max_connections kept below the open-file limit."""
    room = max(open_files - FILES_RESERVED, 1)
    connections = settings.max_connections
    if open_files != resource.RLIM_INFINITY and connections > room:
        log.warning(
            "AUTHORITY_MAX_CONNECTIONS=%d does not fit in %d open files; using %d",
            connections,
            open_files,
            room,
        )
        connections = room
    return HttpLimits(
        max_header_bytes=settings.max_header_bytes,
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        max_connections=connections,
    )


def run(settings: Settings, host: str, port: int, workers: int, access_log: bool) -> None:
    """Serve the app with ``workers`` processes until a signal stops it (uvicorn.run's
    logic, with our protocol and its limits in the configuration), and the metrics
    listener beside it when there is one."""
    config = ServerConfig(
        AppFactory(settings),
        limits=http_limits(settings, raise_open_files_limit()),
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=LimitedHttpToolsProtocol,
        timeout_keep_alive=settings.keepalive_timeout,
        log_config=logging_config(settings, access_log),
        log_level=settings.log_level.lower(),
        access_log=access_log and settings.log_format == "text",
        server_header=False,
        # The app's own rule (authority.web.requests.client_ip) is the only one: uvicorn would
        # otherwise take X-Forwarded-For from 127.0.0.1 as the client address.
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    extra = metrics_listener(settings)
    try:
        with shared_metrics(config.workers if settings.metrics else 1):
            if config.workers > 1:
                sockets = [config.bind_socket(), *([extra] if extra else [])]
                Supervisor(config, sockets=sockets).run()
            elif extra is not None:
                server.run(sockets=[config.bind_socket(), extra])
            else:
                server.run()
    except KeyboardInterrupt:
        pass
    if config.workers == 1 and not server.started:
        sys.exit(STARTUP_FAILURE)
