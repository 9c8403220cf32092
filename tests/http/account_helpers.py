"""What the account tests share: requests to /accounts/..., the pages' headers, logins."""

from __future__ import annotations

from typing import Any

import httpx2
from starlette.testclient import TestClient

from tests.conftest import ISSUER, Registered
from tests.http.helpers import assert_no_store, post_token

PASSWORD = "correct horse battery"  # alice's, from the fixture
NEW_PASSWORD = "maple syrup on the moon"
PAGE_HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "pragma": "no-cache",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
RESET_ACCEPTED = {
    "status": "accepted",
    "message": "if an account has this email address, a reset link is on its way to it",
}
INVALID_LINK = (
    400,
    "invalid_link",
    "this link is invalid, has expired or was already used; ask for a new one",
)


def assert_page(response: httpx2.Response, status: int) -> str:
    """A page a link opens: its status, its protective headers; returns its HTML."""
    assert response.status_code == status, response.text
    for name, value in PAGE_HEADERS.items():
        assert response.headers[name] == value, name
    csp = [d.strip() for d in response.headers["content-security-policy"].split(";")]
    assert csp[0] == "default-src 'none'"
    assert "form-action 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "base-uri 'none'" in csp
    [style] = [d for d in csp if d.startswith("style-src")]
    assert style == "style-src 'self'"
    assert "<script" not in response.text.lower()
    return response.text


def assert_json(response: httpx2.Response, status: int, body: dict[str, Any]) -> None:
    assert (response.status_code, response.json()) == (status, body)
    assert response.headers["content-type"] == "application/json"
    assert_no_store(response)


def register(
    http: TestClient, username: str, email: str, password: str = NEW_PASSWORD
) -> httpx2.Response:
    data = {"username": username, "email": email, "password": password}
    return http.post("/accounts/register", json=data)


def request_reset(http: TestClient, email: str) -> httpx2.Response:
    return http.post("/accounts/password/reset", json={"email": email})


def confirm_reset(
    http: TestClient, token: str, new_password: str = NEW_PASSWORD
) -> httpx2.Response:
    data = {"token": token, "new_password": new_password}
    return http.post("/accounts/password/reset/confirm", json=data)


def login(
    http: TestClient, client: Registered, password: str, username: str = "alice"
) -> httpx2.Response:
    """A password login whose access token may call the authority (aud = issuer)."""
    data = {
        "grant_type": "password",
        "username": username,
        "password": password,
        "resource": ISSUER,
    }
    return post_token(http, data, client)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
