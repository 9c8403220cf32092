"""What the HTTP tests share: token requests, exact error checks, token verification."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from starlette.testclient import TestClient

from authority.storage.engine import make_engine
from authority.storage.sql import SqlStorage
from tests.conftest import ISSUER, Registered

FORM = "application/x-www-form-urlencoded"
BASIC_CHALLENGE = 'Basic realm="authority", charset="UTF-8"'
Form = Mapping[str, str | Sequence[str]]


def post_token(
    http: TestClient,
    data: Form,
    client: Registered | None = None,
    headers: Mapping[str, str | bytes] | None = None,
) -> httpx2.Response:
    """POST /token with a form body; ``client`` authenticates with HTTP Basic. A header
    value given as bytes is sent as exactly those bytes."""
    return http.post(
        "/token",
        data=data,
        auth=client.basic if client else httpx2.USE_CLIENT_DEFAULT,
        headers={_raw(name): _raw(value) for name, value in (headers or {}).items()},
    )


def _raw(text: str | bytes) -> bytes:
    # Header names and str values are ASCII, as httpx would encode them itself.
    return text if isinstance(text, bytes) else text.encode("ascii")


def post_body(
    http: TestClient, body: bytes, content_type: str | None = FORM, **headers: str
) -> httpx2.Response:
    """POST /token with raw bytes, for bodies a form encoder would never produce."""
    sent = dict(headers)
    if content_type is not None:
        sent["Content-Type"] = content_type
    return http.post("/token", content=body, headers=sent)


def basic(client_id: str | bytes, secret: str | bytes) -> str:
    """An Authorization header value from the exact bytes given, nothing encoded for us."""
    raw_id = client_id.encode() if isinstance(client_id, str) else client_id
    raw_secret = secret.encode() if isinstance(secret, str) else secret
    return "Basic " + base64.b64encode(raw_id + b":" + raw_secret).decode("ascii")


def assert_no_store(response: httpx2.Response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


def assert_error(
    response: httpx2.Response,
    status: int,
    error: str,
    description: str,
    *,
    challenge: bool = False,
) -> None:
    """An OAuth error exactly as RFC 6749 §5.2 puts it on the wire."""
    assert (response.status_code, response.json()) == (
        status,
        {"error": error, "error_description": description},
    )
    assert response.headers["content-type"] == "application/json"
    assert_no_store(response)
    if challenge:
        assert response.headers["www-authenticate"] == BASIC_CHALLENGE
    else:
        assert "www-authenticate" not in response.headers


def assert_token_response(response: httpx2.Response, *, refresh: bool) -> dict[str, Any]:
    """A successful RFC 6749 §5.1 response; returns its JSON body."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert_no_store(response)
    body: dict[str, Any] = response.json()
    expected = {"access_token", "token_type", "expires_in", "scope"}
    if refresh:
        expected.add("refresh_token")
    assert set(body) == expected
    assert body["token_type"] == "Bearer"
    return body


def verify_access_token(http: TestClient, token: str, audience: str) -> dict[str, Any]:
    """Verify an access token the way a resource server would: against the published JWKS."""
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    keys = jwt.PyJWKSet.from_dict(http.get("/jwks.json").json())
    [key] = [k for k in keys.keys if k.key_id == header["kid"]]
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=["ES256"],
        audience=audience,
        issuer=ISSUER,
        options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
    )
    return claims


def unverified_claims(token: str) -> dict[str, Any]:
    """Claims without verification, for tokens minted after the test clock moved on."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


@contextmanager
def database_unreachable(
    storage: SqlStorage, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[None]:
    """Point storage at a database that cannot be reached, on the backend under test."""
    if storage.engine.dialect.name == "postgresql":
        url = "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2"
    else:
        url = f"sqlite:///{tmp_path / 'missing-directory' / 'authority.db'}"
    dead = make_engine(url)
    try:
        with monkeypatch.context() as patch:
            patch.setattr(storage, "engine", dead)
            patch.setattr(storage, "_writer", dead)
            patch.setattr(storage, "_reader", dead)
            yield
    finally:
        dead.dispose()


def same_headers(one: httpx2.Response, other: httpx2.Response) -> bool:
    """The two answers' headers are the same but for their request ids (each is its own)."""

    def without_id(response: httpx2.Response) -> list[tuple[str, str]]:
        return sorted((k, v) for k, v in response.headers.items() if k != "x-request-id")

    return without_id(one) == without_id(other)
