"""The one place that renders answers: JSON (uncacheable where tokens travel), the hosted
pages, and every error, OAuth's (RFC 6749 §5.2) and routing's alike."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from authority.errors import OAuthError
from authority.web.pages import Pages

# RFC 6749 §5.1: token responses must never be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# The hosted pages carry tokens and forms: never cached, never sent on as a Referer, never
# framed (clickjacking), never sniffed into anything but HTML, never running a script; only
# our own stylesheet, and forms only to ourselves (and to the client a page sends back to).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'{targets}; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    **NO_STORE,
    "Content-Security-Policy": CONTENT_SECURITY_POLICY.format(targets=""),
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


def etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 §13.1.2: If-None-Match compares weakly, and "*" matches any current entity."""
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or etag in (t.removeprefix("W/") for t in tags)


def html_response(page: str, status: int = 200, form_targets: Iterable[str] = ()) -> Response:
    """A hosted page. ``form_targets``: CSP sources a form on it may post to (or be sent on
    to after posting, as browsers check redirects too) besides this server: the origin of
    the client's redirect URI, on a page whose form ends in a redirect there."""
    headers = dict(PAGE_HEADERS)
    targets = "".join(f" {t}" for t in dict.fromkeys(form_targets))
    if targets:
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(targets=targets)
    return Response(page, status, headers, media_type="text/html; charset=utf-8")


def page(
    request: Request,
    template: str,
    status: int = 200,
    form_targets: Iterable[str] = (),
    **context: Any,
) -> Response:
    """Render a hosted page's template (see ``authority.web.pages``)."""
    pages: Pages = request.app.state.pages
    stylesheet = str(request.app.url_path_for("stylesheet"))
    return html_response(pages.render(template, stylesheet, **context), status, form_targets)


def error_response(error: OAuthError, request: Request | None = None) -> Response:
    """The error as JSON (RFC 6749 §5.2), or, given the request of a browser (a form, a
    hosted page), as a page."""
    status, body, headers = error.status_code, error.body(), error.headers
    if request is not None:
        text = body.get("error_description") or body["error"]
        answer = page(request, "error.html", status, text=text, title="Something went wrong")
        if "Retry-After" in headers:  # a 503 says when to come back on a page too
            answer.headers["Retry-After"] = headers["Retry-After"]
        return answer
    return json_response(body, status, {**NO_STORE, **headers})


def no_icon(request: Request) -> Response:
    """Browsers ask every site for /favicon.ico: an empty answer they may keep, not a 404."""
    return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400"})


def stylesheet(request: Request) -> Response:
    """The hosted pages' one stylesheet (cacheable: it holds nothing private)."""
    pages: Pages = request.app.state.pages
    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    return Response(pages.stylesheet, 200, headers, media_type="text/css; charset=utf-8")


def answer_in_html(request: Request, html: bool = True) -> None:
    """From here on, errors of this request are rendered as pages (see ``error_response``)."""
    request.state.html = html


def answers_in_html(request: Request) -> bool:
    return bool(getattr(request.state, "html", False))


def browser_or_none(request: Request) -> Request | None:
    """The request, when its errors are to be rendered as pages (``answer_in_html``)."""
    return request if answers_in_html(request) else None


def http_error_response(exc: HTTPException) -> Response:
    """A routing error (404, 405) in the same JSON shape, uncacheable like everything here."""
    error = "not_found" if exc.status_code == 404 else "invalid_request"
    body = {"error": error, "error_description": exc.detail}
    return json_response(body, exc.status_code, {**(exc.headers or {}), **NO_STORE})
