"""Every way a session ends denies the access tokens issued in it: an operator disabling the
user, disabling or deleting the client, and logins through a client without refresh tokens."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.cli import main
from authority.settings import Settings
from tests.conftest import ISSUER, FakeClock, Registered
from tests.http.account_helpers import confirm_reset, request_reset
from tests.http.helpers import post_token
from tests.mailbox import Mailbox, token

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


@pytest.fixture
def auditor(admin: Admin) -> Registered:
    """A client that may introspect every access token, to look at those of a removed client."""
    client, secret = admin.create_client(
        "auditor", ["client_credentials"], ["read"], None, [], introspect_any=True
    )
    return Registered(client.client_id, secret)


def service_token(http: TestClient, client: Registered) -> str:
    response = post_token(http, {"grant_type": "client_credentials"}, client)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.mark.parametrize("action", ["disable", "delete"])
def test_removing_a_client_makes_every_access_token_of_its_sessions_inactive(
    http: TestClient,
    app_client: Registered,
    auditor: Registered,
    alice: str,
    operator: Any,
    action: str,
) -> None:
    first = login(http, app_client)
    later = rotated(http, app_client, first["refresh_token"])
    tokens = [first["access_token"], later["access_token"]]
    assert all(active(http, auditor, t) for t in tokens)

    operator("clients", action, app_client.client_id)

    assert not any(active(http, auditor, t) for t in tokens)
    response = http.get("/sessions", headers=bearer(later["access_token"]))
    assert (response.status_code, response.json()) == (401, REVOKED)


def test_enabling_a_client_again_revives_none_of_its_sessions(
    http: TestClient, app_client: Registered, alice: str, operator: Any
) -> None:
    session = login(http, app_client)

    operator("clients", "disable", app_client.client_id)
    operator("clients", "enable", app_client.client_id)

    assert not active(http, app_client, session["access_token"])
    assert not active(http, app_client, session["refresh_token"])
    refreshed = post_token(
        http, {"grant_type": "refresh_token", "refresh_token": session["refresh_token"]}, app_client
    )
    assert refreshed.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("action", ["disable", "delete"])
def test_removing_a_client_makes_its_client_credentials_tokens_inactive(
    http: TestClient, service_client: Registered, auditor: Registered, operator: Any, action: str
) -> None:
    token = service_token(http, service_client)
    assert active(http, auditor, token)

    operator("clients", action, service_client.client_id)

    assert not active(http, auditor, token)


def test_importing_a_user_as_disabled_makes_every_access_token_of_theirs_inactive(
    http: TestClient, app_client: Registered, alice: str, operator: Any, tmp_path: Path
) -> None:
    session = login(http, app_client)
    path = tmp_path / "users.csv"
    path.write_text(
        "username,email,password_hash,is_active\nalice,,pbkdf2_sha256$1000$c2FsdA$AAAA,false\n"
    )

    operator("users", "import", str(path))

    assert not active(http, app_client, session["access_token"])


# -- the refresh grant and the account holder ----------------------------------------------


def test_reusing_a_refresh_token_makes_every_access_token_of_its_session_inactive(
    http: TestClient, app_client: Registered, alice: str, clock: FakeClock
) -> None:
    first = login(http, app_client)
    later = rotated(http, app_client, first["refresh_token"])
    other = login(http, app_client)
    clock.advance(60)  # past the window in which a used token may be retried

    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    assert post_token(http, data, app_client).json()["error"] == "invalid_grant"

    assert not active(http, app_client, first["access_token"])
    assert not active(http, app_client, later["access_token"])
    assert active(http, app_client, other["access_token"])  # another session, untouched


def test_a_password_reset_makes_every_access_token_of_the_account_inactive(
    http: TestClient, app_client: Registered, alice: str, mailbox: Mailbox
) -> None:
    first = login(http, app_client)
    later = rotated(http, app_client, first["refresh_token"])
    assert request_reset(http, "alice@example.com").status_code == 202
    link_token = token(mailbox.messages()[-1], "/accounts/password/reset")

    assert confirm_reset(http, link_token).status_code == 200

    assert not active(http, app_client, first["access_token"])
    assert not active(http, app_client, later["access_token"])
    assert not active(http, app_client, later["refresh_token"])


# -- logins through a client without refresh tokens ------------------------------------------


@pytest.fixture
def no_refresh(admin: Admin) -> Registered:
    """A first-party app allowed the password grant only: its logins get no refresh token."""
    client, secret = admin.create_client("no-refresh", ["password"], ["read"], None, [])
    return Registered(client.client_id, secret)


def test_a_login_without_refresh_token_is_not_listed_among_the_sessions(
    http: TestClient, app_client: Registered, no_refresh: Registered, alice: str
) -> None:
    sessionless = login(http, no_refresh)
    assert "refresh_token" not in sessionless
    session = login(http, app_client)

    listed = http.get("/sessions", headers=bearer(sessionless["access_token"]))

    assert listed.status_code == 200
    assert [s["client_id"] for s in listed.json()["sessions"]] == [app_client.client_id]
    assert active(http, no_refresh, sessionless["access_token"])
    assert active(http, app_client, session["access_token"])


@pytest.mark.parametrize("from_", ["that login", "another session"])
def test_logging_out_everywhere_ends_logins_without_refresh_token(
    http: TestClient, app_client: Registered, no_refresh: Registered, alice: str, from_: str
) -> None:
    sessionless = [login(http, no_refresh) for _ in range(2)]
    session = login(http, app_client)
    caller = sessionless[0] if from_ == "that login" else session

    response = http.delete("/sessions", headers=bearer(caller["access_token"]))

    assert response.status_code == 204
    assert not any(active(http, no_refresh, s["access_token"]) for s in sessionless)
    assert not active(http, app_client, session["access_token"])


def test_the_operators_logout_ends_logins_without_refresh_token(
    http: TestClient, no_refresh: Registered, alice: str, operator: Any
) -> None:
    sessionless = login(http, no_refresh)

    operator("users", "logout", "alice")

    assert not active(http, no_refresh, sessionless["access_token"])


def test_a_password_change_ends_other_logins_without_refresh_token(
    http: TestClient, app_client: Registered, no_refresh: Registered, alice: str
) -> None:
    elsewhere = login(http, no_refresh)
    here = login(http, app_client)

    response = http.post(
        "/accounts/password/change",
        json={"current_password": PASSWORD, "new_password": "maple syrup on the moon"},
        headers=bearer(here["access_token"]),
    )

    assert response.status_code == 200, response.text
    assert not active(http, no_refresh, elsewhere["access_token"])
    assert active(http, app_client, here["access_token"])


def test_a_password_change_from_a_login_without_refresh_token_keeps_that_login(
    http: TestClient, app_client: Registered, no_refresh: Registered, alice: str
) -> None:
    here, other_login = login(http, no_refresh), login(http, no_refresh)
    session = login(http, app_client)

    response = http.post(
        "/accounts/password/change",
        json={"current_password": PASSWORD, "new_password": "maple syrup on the moon"},
        headers=bearer(here["access_token"]),
    )

    assert (response.status_code, response.json()) == (
        200,
        {"status": "password_changed", "sessions_ended": 2},
    )
    assert active(http, no_refresh, here["access_token"])
    assert not active(http, no_refresh, other_login["access_token"])
    assert not active(http, app_client, session["access_token"])


def test_a_password_reset_ends_logins_without_refresh_token(
    http: TestClient, no_refresh: Registered, alice: str, mailbox: Mailbox
) -> None:
    sessionless = login(http, no_refresh)
    assert request_reset(http, "alice@example.com").status_code == 202
    link_token = token(mailbox.messages()[-1], "/accounts/password/reset")

    response = confirm_reset(http, link_token)

    assert response.status_code == 200, response.text
    assert not active(http, no_refresh, sessionless["access_token"])
