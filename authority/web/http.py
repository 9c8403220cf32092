"""The HTTP edge: reading form and JSON bodies, and the one place that renders JSON, HTML
pages and OAuth errors."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, TypeVarTuple
from urllib.parse import parse_qsl

import anyio
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from authority.errors import (
    InvalidRequestError,
    InvalidToken,
    MissingToken,
    OAuthError,
    Overdue,
    PayloadTooLarge,
    quoted,
)
from authority.oauth import client_auth
from authority.oauth.params import Params
from authority.runtime import Authority
from authority.storage import Client
from authority.storage.engine import abandoned
from authority.verify import bearer
from authority.web import pages

MAX_BODY_BYTES = 64 * 1024
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
# RFC 6749 §5.1: token responses must never be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# The pages a link opens carry a token: never cached, never sent on as a Referer, never
# framed (clickjacking), never sniffed into anything but HTML, never running a script.
PAGE_HEADERS = {
    **NO_STORE,
    "Content-Security-Policy": pages.CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# JSON's \uXXXX escapes can spell half a surrogate pair, which is no Unicode scalar value:
# such a string cannot be encoded to UTF-8, so nothing past the edge may ever see one.
_SURROGATE = re.compile("[\ud800-\udfff]")
Job = Callable[[], None]
T = TypeVar("T")
Args = TypeVarTuple("Args")


def json_bytes(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(
    data: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    after: Job | None = None,
) -> Response:
    """``after`` runs once the response is sent (on a thread), its latency unseen."""
    background = BackgroundTask(after) if after is not None else None
    return Response(
        json_bytes(data), status, headers, media_type="application/json", background=background
    )


def no_store(data: Any, status: int = 200, after: Job | None = None) -> Response:
    return json_response(data, status, NO_STORE, after)


def html_response(page: str, status: int = 200) -> Response:
    return Response(page, status, PAGE_HEADERS, media_type="text/html; charset=utf-8")


def error_response(error: OAuthError, html: bool = False) -> Response:
    """The error as JSON (RFC 6749 §5.2), or as a page for a browser that posted a form."""
    status, body, headers = error.status_code, error.body(), error.headers
    if html:
        page = html_response(pages.error(body.get("error_description") or body["error"]), status)
        if "Retry-After" in headers:  # a 503 says when to come back on a page too
            page.headers["Retry-After"] = headers["Retry-After"]
        return page
    return json_response(body, status, {**NO_STORE, **headers})


def answer_in_html(request: Request, html: bool = True) -> None:
    """From here on, errors of this request are rendered as pages (see ``error_response``)."""
    request.state.html = html


def answers_in_html(request: Request) -> bool:
    return bool(getattr(request.state, "html", False))


def wants_html(request: Request) -> bool:
    """A browser's form post gets a page: it asks for text/html, or posts a form without
    asking for JSON. A script that posts JSON, or asks for it, gets JSON."""
    accept = request.headers.get("accept", "").lower()
    if "text/html" in accept:
        return True
    if JSON in accept:
        return False
    mime = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    return mime == FORM


def http_error_response(exc: HTTPException) -> Response:
    """A routing error (404, 405) in the same JSON shape, uncacheable like everything here."""
    error = "not_found" if exc.status_code == 404 else "invalid_request"
    body = {"error": error, "error_description": exc.detail}
    return json_response(body, exc.status_code, {**(exc.headers or {}), **NO_STORE})


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and (not (length.isascii() and length.isdigit()) or int(length) > limit):
        raise PayloadTooLarge(f"request body is larger than {limit} bytes")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise PayloadTooLarge(f"request body is larger than {limit} bytes")
    except ClientDisconnect:
        # The client went away, or the server stopped waiting for the rest of the body
        # (AUTHORITY_BODY_TIMEOUT, answered by the server): no one reads this answer.
        raise InvalidRequestError("the request body was not received in full") from None
    return bytes(body)


def parse_form(content_type: str | None, body: bytes) -> Params:
    """RFC 6749 §3.2 / Appendix B: a UTF-8 form body; empty values count as absent."""
    mime, _, rest = (content_type or "").partition(";")
    if mime.strip().lower() != FORM:
        raise InvalidRequestError(f"the request body must be {FORM}")
    charset = rest.strip().lower().replace(" ", "")
    if charset and charset not in ("charset=utf-8", 'charset="utf-8"'):
        raise InvalidRequestError("the request body must be UTF-8")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=False, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequestError("the request body is not valid UTF-8 form data") from None
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        if _CONTROL.search(name) or _CONTROL.search(value):
            raise InvalidRequestError("parameters must not contain control characters")
        values.setdefault(name, []).append(value)
    return Params(values)


async def read_form(request: Request) -> Params:
    return parse_form(request.headers.get("content-type"), await read_body(request))


def parse_json(body: bytes) -> Params:
    """A JSON object of string members, held to the rules of a form: no member repeated,
    no control characters, an empty string counts as absent; and valid Unicode (RFC 8259
    §8.2: a lone surrogate escape is no character)."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for name, value in items:
            if name in seen:
                raise InvalidRequestError(f"parameter {quoted(name)} must not be repeated")
            seen[name] = value
        return seen

    try:
        data = json.loads(body, object_pairs_hook=pairs)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequestError("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidRequestError("the request body must be a JSON object")
    values: dict[str, list[str]] = {}
    for name, value in data.items():
        if not isinstance(value, str):
            raise InvalidRequestError(f"parameter {quoted(name)} must be a string")
        if _SURROGATE.search(name) or _SURROGATE.search(value):
            raise InvalidRequestError("parameters must be valid Unicode (a lone surrogate is not)")
        if _CONTROL.search(name) or _CONTROL.search(value):
            raise InvalidRequestError("parameters must not contain control characters")
        if value:
            values[name] = [value]
    return Params(values)


async def read_fields(request: Request) -> Params:
    """The parameters of an account request: a form, or a JSON object."""
    content_type = request.headers.get("content-type")
    mime = (content_type or "").partition(";")[0].strip().lower()
    if mime == JSON:
        return parse_json(await read_body(request))
    if mime != FORM:
        raise InvalidRequestError(f"the request body must be {FORM} or {JSON}")
    return parse_form(content_type, await read_body(request))


def query_token(request: Request) -> str | None:
    """The ``token`` of a link's URL: exactly one, or None."""
    values = request.query_params.getlist("token")
    return values[0] if len(values) == 1 else None


async def in_thread(
    authority: Authority,
    work: Callable[[*Args], T],
    *args: *Args,
    limiter: anyio.CapacityLimiter | None = None,
) -> T:
    """Run a request's blocking work (storage, password hashing) in a worker thread, off the
    event loop, within AUTHORITY_DATABASE_TIMEOUT, the wait for a free thread included.

    When the deadline passes the request answers 503 (``Overdue``) and the thread is left to
    finish alone: it no longer holds a place of the thread limiter, so threads stuck on a
    stalled database never queue the requests behind them, and a write it still makes rolls
    back instead of committing (``storage.engine.abandoned``).
    """
    flag = threading.Event()
    token = abandoned.set(flag)
    try:
        with anyio.move_on_after(authority.settings.database_timeout):
            return await anyio.to_thread.run_sync(
                work, *args, abandon_on_cancel=True, limiter=limiter
            )
        flag.set()
        raise Overdue()
    finally:
        abandoned.reset(token)


def limiter(authority: Authority, name: str, threads: int) -> anyio.CapacityLimiter:
    """The thread limiter of its own that ``name`` runs under (made on first use): work
    capped this way queues on the event loop, under its deadline, and never takes the
    threads the rest needs."""
    found = authority.limiters.get(name)
    if found is None:
        found = authority.limiters[name] = anyio.CapacityLimiter(threads)
    return found


async def authenticate_client(request: Request, params: Params, authority: Authority) -> Client:
    """Client authentication for the token, revocation and introspection endpoints: on the
    event loop when the client is cached, else in a thread (the lookup reads the database)."""
    credentials = client_auth.credentials(request.headers.get("authorization"), params)
    client = authority.clients.authenticate_cached(credentials)
    if client is None:
        client = await in_thread(authority, authority.clients.authenticate, credentials)
    return client


def outage_kind(exc: BaseException) -> str:
    """An outage as the log names it: the error's class, and the driver's beneath it."""
    if isinstance(exc, Overdue):
        return "Overdue (no answer within AUTHORITY_DATABASE_TIMEOUT)"
    name = type(exc).__name__
    cause = getattr(exc, "orig", None)  # the DBAPI error a SQLAlchemy error wraps
    if not isinstance(cause, Exception):
        return name
    return f"{name} ({type(cause).__module__}.{type(cause).__qualname__})"


class Outages:
    """Expected outages (a database or Redis that does not answer) are logged as one WARNING
    line each, without a traceback, and at most one line a second per kind of failure: the
    lines left out are counted in the next one, so an outage cannot flood the log.

    Used on the event loop only (exception handlers, the readiness probe)."""

    def __init__(
        self,
        log: logging.Logger,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self._interval = interval
        self._clock = clock
        self._last: dict[str, tuple[float, int]] = {}  # kind -> (logged at, left out since)

    def record(self, kind: str, where: str) -> None:
        now = self._clock()
        last = self._last.get(kind)
        if last is not None and now - last[0] < self._interval:
            self._last[kind] = (last[0], last[1] + 1)
            return
        self._last[kind] = (now, 0)
        left_out = f" ({last[1]} more since the last line)" if last and last[1] else ""
        self._log.warning("temporarily unavailable on %s: %s%s", where, kind, left_out)


def client_ip(request: Request, authority: Authority) -> str | None:
    """The caller's address: the last hop of AUTHORITY_TRUSTED_PROXY_HEADER (the one our own
    proxy appended) when that is configured, else the TCP peer."""
    header = authority.settings.trusted_proxy_header
    if header:
        # RFC 9110 §5.3: the lines of a repeated field are one list, in order. A proxy may
        # append a line of its own (HAProxy's `option forwardfor`) rather than extend the
        # client's, so the last hop is the end of the last line, never of the first.
        value = ",".join(request.headers.getlist(header))
        if value:
            return value.rsplit(",", 1)[-1].strip()[:64] or None
    return request.client.host if request.client else None


def bearer_token(request: Request) -> str:
    """RFC 6750 §2.1: the access token from ``Authorization: Bearer``."""
    header = request.headers.get("authorization")
    if not header:
        raise MissingToken()
    token = bearer.bearer_token(header)
    if token is None:
        raise InvalidToken(bearer.MALFORMED)
    return token
