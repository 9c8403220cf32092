"""One access line per request (logger ``authority.access``, at INFO): its route's path
template (``/sessions/{session_id}``, never the path itself, nor its query), method, status,
latency in milliseconds and the client it authenticated, if any.

``authority serve --access-log`` turns it on with AUTHORITY_LOG_FORMAT=json (in text, uvicorn
writes its own access line, as it always did). Off, a request costs one level check.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authority.observe.logs import ACCESS

log = logging.getLogger(ACCESS)
# Where an endpoint leaves the client it authenticated, in the request's state.
CLIENT_ID = "client_id"


def route_of(scope: Scope) -> str | None:
    """The path template of the route that took the request; None when none matched. A
    mounted route's (``/admin/clients``) starts with its mount's path, which the mount has
    added to the scope's root_path."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return None
    root: str = scope.get("root_path", "")
    mount = root[len(scope.get("app_root_path", root)) :]
    return mount + path


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # Unless the app answers, it raised: the server-error handler above answers 500.
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = route_of(scope)
            method = scope["method"]
            log.info(
                "%s %s %d",
                method,
                route or "-",
                status,
                extra={
                    "event": "http.request",
                    "route": route,
                    "method": method,
                    "status": status,
                    "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                    "client_id": scope.get("state", {}).get(CLIENT_ID),
                },
            )
