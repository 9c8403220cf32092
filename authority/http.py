"""The HTTP edge: reading form bodies, and the one place that renders JSON and OAuth errors."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from authority import client_auth
from authority.errors import (
    InvalidRequestError,
    InvalidToken,
    MissingToken,
    OAuth2Error,
    PayloadTooLarge,
)
from authority.params import Params
from authority.service import Authority
from authority.storage import Client

MAX_BODY_BYTES = 64 * 1024
FORM = "application/x-www-form-urlencoded"
# RFC 6749 §5.1: token responses must never be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def json_bytes(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(data), status, headers, media_type="application/json")


def no_store(data: Any, status: int = 200) -> Response:
    return json_response(data, status, NO_STORE)


def error_response(error: OAuth2Error) -> Response:
    status, body, headers = error()
    merged = dict(headers)
    merged.update(NO_STORE)
    merged.pop("Content-Type", None)
    return json_response(body, status, merged)


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
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"request body is larger than {limit} bytes")
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


def authenticate_client(request: Request, params: Params, authority: Authority) -> Client:
    """Client authentication for the token, revocation and introspection endpoints."""
    credentials = client_auth.credentials(request.headers.get("authorization"), params)
    return authority.clients.authenticate(credentials)


def client_ip(request: Request, authority: Authority) -> str | None:
    """The caller's address: the last hop of AUTHORITY_TRUSTED_PROXY_HEADER (the one our own
    proxy appended) when that is configured, else the TCP peer."""
    header = authority.settings.trusted_proxy_header
    if header:
        value = request.headers.get(header)
        if value:
            return value.rsplit(",", 1)[-1].strip()[:64] or None
    return request.client.host if request.client else None


def bearer_token(request: Request) -> str:
    """RFC 6750 §2.1: the access token from ``Authorization: Bearer``."""
    header = request.headers.get("authorization")
    if not header:
        raise MissingToken()
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("use Authorization: Bearer with an access token")
    return token.strip()
