"""Every way a session ends denies the access tokens issued in it: an operator disabling the
user or deleting the client, and logins through a client without refresh tokens."""

from __future__ import annotations

import os
from typing import Any

import pytest
from starlette.testclient import TestClient

from authority.cli import main
from authority.settings import Settings
from tests.conftest import ISSUER, Registered
from tests.http.helpers import post_token

PASSWORD = "correct horse battery"  # alice's, from the fixture
REVOKED = {"error": "invalid_token", "error_description": "the access token was revoked"}


def login(http: TestClient, client: Registered) -> dict[str, Any]:
    data = {
        "grant_type": "password",
        "username": "alice",
        "password": PASSWORD,
        "resource": ISSUER,
    }
    response = post_token(http, data, client)
    assert response.status_code == 200, response.text
    return dict(response.json())


def rotated(http: TestClient, client: Registered, refresh_token: str) -> dict[str, Any]:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    response = post_token(http, data, client)
    assert response.status_code == 200, response.text
    return dict(response.json())


def active(http: TestClient, client: Registered, token: str) -> bool:
    response = http.post("/introspect", data={"token": token}, auth=client.basic)
    assert response.status_code == 200
    return bool(response.json()["active"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def operator(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``operator("users", "disable", "alice")``: the CLI, in-process, on the test database."""
    for name in list(os.environ):
        if name.startswith("AUTHORITY_") and not name.startswith("AUTHORITY_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AUTHORITY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("AUTHORITY_KEYS_DIR", str(settings.keys_dir))

    def run(*argv: str) -> None:
        assert main([*argv, "--json"]) == 0

    return run


# -- the operator ---------------------------------------------------------------------------


def test_disabling_a_user_makes_every_access_token_of_theirs_inactive(
    http: TestClient, app_client: Registered, alice: str, operator: Any
) -> None:
    first = login(http, app_client)
    later = rotated(http, app_client, first["refresh_token"])
    other = login(http, app_client)
    tokens = [first["access_token"], later["access_token"], other["access_token"]]
    assert all(active(http, app_client, t) for t in tokens)

    operator("users", "disable", "alice")

    assert not any(active(http, app_client, t) for t in tokens)
    assert not active(http, app_client, later["refresh_token"])
    # Enabling the account again revives none of them.
    operator("users", "enable", "alice")
    assert not any(active(http, app_client, t) for t in tokens)


def test_deleting_a_client_denies_the_access_tokens_of_its_sessions(
    http: TestClient, app_client: Registered, alice: str, operator: Any
) -> None:
    session = login(http, app_client)
    assert http.get("/sessions", headers=bearer(session["access_token"])).status_code == 200

    operator("clients", "delete", app_client.client_id)

    response = http.get("/sessions", headers=bearer(session["access_token"]))
    assert (response.status_code, response.json()) == (401, REVOKED)
