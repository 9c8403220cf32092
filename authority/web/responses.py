"""The one place that renders answers: JSON (uncacheable where tokens travel), the hosted
pages, and every error, OAuth's (RFC 6749 §5.2) and routing's alike."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from authority.errors import OAuthError
from authority.web import pages

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
Job = Callable[[], None]


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


def http_error_response(exc: HTTPException) -> Response:
    """A routing error (404, 405) in the same JSON shape, uncacheable like everything here."""
    error = "not_found" if exc.status_code == 404 else "invalid_request"
    body = {"error": error, "error_description": exc.detail}
    return json_response(body, exc.status_code, {**(exc.headers or {}), **NO_STORE})
