"""Each request's identity for the events it causes and the log: its request id (the
caller's ``X-Request-ID`` when it is a sane one, else a new one, echoed in the response), the
caller's address (by AUTHORITY_TRUSTED_PROXY_HEADER's rule) and user agent."""

from __future__ import annotations

import itertools
import os
import re

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authority.events import RequestContext, current_request
from authority.web.requests import client_ip

REQUEST_ID = "x-request-id"
# What a proxy or a client may pass as its own id: short, printable, no separators that
# would let it forge a second log field.
_SANE_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
MAX_USER_AGENT = 256
# A new id is this process's random prefix and a count: unique across processes and replicas
# (64 random bits each), and no system call on the event loop per request, where one would
# let a worker thread take the GIL in the middle of it.
_PREFIX = os.urandom(8).hex()
_COUNT = itertools.count(1)


def request_id(given: str | None) -> str:
    """The caller's id if it is sane, else a new one (32 hexadecimal digits)."""
    if given is not None and _SANE_ID.fullmatch(given):
        return given
    return f"{_PREFIX}{next(_COUNT):016x}"


class RequestContextMiddleware:
    """Sets ``authority.events.current_request`` for the request and echoes its id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        authority = getattr(request.app.state, "authority", None)
        header = authority.settings.trusted_proxy_header if authority is not None else None
        agent = request.headers.get("user-agent")
        context = RequestContext(
            request_id(request.headers.get(REQUEST_ID)),
            client_ip(request, header),
            agent[:MAX_USER_AGENT] if agent else None,
        )
        scope.setdefault("state", {})["request_id"] = context.request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID] = context.request_id
            await send(message)

        token = current_request.set(context)
        await self.app(scope, receive, send_with_id)
        # Not reset when the app raised: the lines written about it outside this middleware
        # (the 500 handler's traceback, the server's own error line) carry the request's id.
        # The server runs each request in a task of its own, whose context ends with it.
        current_request.reset(token)
