"""405 (RFC 9110 §15.5.6): Allow names every method of the resource, also where its methods
are served by routes of their own (a page's GET beside its form's POST)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/sessions", "DELETE, GET, HEAD"),
        ("GET", "/sessions/some-session", "DELETE"),
        ("PATCH", "/accounts/register", "GET, HEAD, POST"),
        ("DELETE", "/accounts/password/reset", "GET, HEAD, POST"),
        ("PUT", "/userinfo", "GET, HEAD, POST"),
        ("GET", "/token", "POST"),
        ("POST", "/openapi.json", "GET, HEAD"),
    ],
)
def test_allow_names_every_method_of_the_path(
    http: TestClient, method: str, path: str, allow: str
) -> None:
    response = http.request(method, path)

    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Method Not Allowed",
    }
    assert response.headers["cache-control"] == "no-store"
