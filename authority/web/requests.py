"""Reading a request: its body (size-limited), a form or a JSON object held to a form's
rules, a link's token, the caller's address and the bearer token."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request

from authority.errors import (
    InvalidRequestError,
    InvalidToken,
    MissingToken,
    PayloadTooLarge,
    quoted,
)
from authority.oauth.params import Params
from authority.verify import bearer

MAX_BODY_BYTES = 64 * 1024
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# JSON's \uXXXX escapes can spell half a surrogate pair, which is no Unicode scalar value:
# such a string cannot be encoded to UTF-8, so nothing past the edge may ever see one.
_SURROGATE = re.compile("[\ud800-\udfff]")


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


def parse_json_object(body: bytes) -> dict[str, Any]:
    """A JSON object (RFC 8259) in which no member is repeated, at any depth."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for name, value in items:
            if name in seen:
                raise InvalidRequestError(f"parameter {quoted(name)} must not be repeated")
            seen[name] = value
        return seen

    try:
        data = json.loads(body, object_pairs_hook=pairs)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidRequestError("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidRequestError("the request body must be a JSON object")
    return data


def text_problem(value: str) -> str | None:
    """Why a string cannot be a parameter, or None: no control characters, and valid
    Unicode (RFC 8259 §8.2: a lone surrogate escape is no character)."""
    if _SURROGATE.search(value):
        return "must be valid Unicode (a lone surrogate is not)"
    if _CONTROL.search(value):
        return "must not contain control characters"
    return None


def parse_json(body: bytes) -> Params:
    """A JSON object of string members, held to the rules of a form: no member repeated,
    no control characters, an empty string counts as absent; and valid Unicode."""
    values: dict[str, list[str]] = {}
    for name, value in parse_json_object(body).items():
        if not isinstance(value, str):
            raise InvalidRequestError(f"parameter {quoted(name)} must be a string")
        problem = text_problem(name) or text_problem(value)
        if problem is not None:
            raise InvalidRequestError(f"parameters {problem}")
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


def client_ip(request: Request, header: str | None) -> str | None:
    """The caller's address: the last hop of ``header`` (AUTHORITY_TRUSTED_PROXY_HEADER, the
    one our own proxy appended) when that is configured, else the TCP peer."""
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
