"""CORS, per client (Fetch §3.2): the endpoints a browser app calls answer its pages' origins.

The origin decides: a preflight carries no credentials and names no client, so what an
origin may do is what the clients that list it (``--allowed-origin``) may do. An origin of a
cookie-mode client's gets ``Access-Control-Allow-Credentials``; an origin of another
client's, CORS without credentials; any other origin, no CORS header at all (its preflight
is the router's 405). The endpoint itself then holds a cookie-authenticated request to the
origins of the cookie's own client (``authority.web.refresh_cookie``). Discovery and the
JWKS are public documents: any origin, never credentials.

Starlette's CORSMiddleware writes the headers; this only picks which configuration answers.
The origins are a snapshot (``authority.oauth.origins.BrowserOrigins``), read again off the
event loop once it is older than AUTHORITY_CLIENT_CACHE_TTL.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authority.oauth.origins import BrowserOrigins, Cors
from authority.web.refresh_cookie import CSRF_HEADER
from authority.web.threads import in_thread

log = logging.getLogger("authority")
METHODS = ("GET", "POST", "DELETE")
HEADERS = ("Authorization", "Content-Type", CSRF_HEADER)
# What a script may read of an answer besides the safelisted headers: a bearer challenge,
# when to retry.
EXPOSED = ("WWW-Authenticate", "Retry-After")
MAX_AGE = 600


def _cors(app: ASGIApp, credentials: bool) -> CORSMiddleware:
    # Every origin that reaches it was allowed already (``policy``): the pattern only makes
    # Starlette name the origin itself, as credentials require, and add Vary: Origin.
    return CORSMiddleware(
        app,
        allow_origin_regex=".*",
        allow_methods=METHODS,
        allow_headers=HEADERS,
        allow_credentials=credentials,
        expose_headers=EXPOSED,
        max_age=MAX_AGE,
    )


class ClientCors:
    """``paths``: the endpoints browser apps call (regular expressions of route paths);
    ``public``: the public documents."""

    def __init__(
        self,
        app: ASGIApp,
        paths: Iterable[re.Pattern[str]],
        public: Iterable[re.Pattern[str]],
    ) -> None:
        self.app = app
        self._paths = tuple(paths)
        self._public = tuple(public)
        self._answers = {
            Cors.PLAIN: _cors(app, credentials=False),
            Cors.CREDENTIALS: _cors(app, credentials=True),
        }
        self._documents = CORSMiddleware(app, allow_origins=["*"], allow_methods=["GET"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if any(p.fullmatch(path) for p in self._public):
            await self._documents(scope, receive, send)
            return
        if not any(p.fullmatch(path) for p in self._paths):
            await self.app(scope, receive, send)
            return
        origin = Headers(scope=scope).get("origin")
        policy = None if origin is None else await self._policy(scope, origin)
        if policy is None:
            await self.app(scope, receive, _vary(send))
            return
        await self._answers[policy](scope, receive, send)

    async def _policy(self, scope: Scope, origin: str) -> Cors | None:
        authority = scope["app"].state.authority
        origins: BrowserOrigins = authority.origins
        if origins.stale:
            try:
                await in_thread(authority.settings.database_timeout, origins.refresh)
            except Exception as exc:  # an outage, a deadline
                # The last snapshot answers; the endpoint meets the outage itself.
                log.warning("browser origins not reloaded: %s", type(exc).__name__)
        return origins.policy(origin)


def _vary(send: Send) -> Send:
    """Answers of these endpoints depend on Origin even when they carry no CORS header."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])
        await send(message)

    return sending
