"""An unexpected error: a fixed server_error answer that also ends the connection."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from authority.runtime import Authority
from authority.web.app import create_app
from authority.web.endpoints import jwks
from tests.conftest import ISSUER


def test_an_unexpected_error_answers_500_and_closes_the_connection(
    authority: Authority, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(if_none_match: str, etag: str) -> bool:
        raise RuntimeError("a bug")

    monkeypatch.setattr(jwks, "etag_matches", broken)
    app = create_app(authority=authority)
    with TestClient(app, base_url=ISSUER, raise_server_exceptions=False) as client:
        response = client.get("/jwks.json", headers={"If-None-Match": '"x"'})
    assert (response.status_code, response.json()) == (
        500,
        {"error": "server_error", "error_description": "The server met an unexpected condition."},
    )
    # Whatever broke may have left the connection in an unknown state: the client must not
    # send its next request on it.
    assert response.headers["connection"] == "close"
    assert response.headers["cache-control"] == "no-store"
