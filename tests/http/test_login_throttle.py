"""Brute-force protection on the password grant, seen from a client."""

from __future__ import annotations

import httpx2
import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.runtime import Authority
from authority.settings import Settings
from tests.conftest import FakeClock, Registered
from tests.http.helpers import assert_error, post_token

PASSWORD = "correct horse battery"
BAD = ("invalid_grant", "invalid username or password")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(login_max_failures=3, login_lockout=600)


def login(
    http: TestClient, client: Registered, password: str, username: str = "alice"
) -> httpx2.Response:
    data = {"grant_type": "password", "username": username, "password": password}
    return post_token(http, data, client)


def test_a_locked_account_answers_exactly_like_a_wrong_password(
    http: TestClient, app_client: Registered, alice: str, clock: FakeClock
) -> None:
    for _ in range(3):
        assert_error(login(http, app_client, "wrong"), 400, *BAD)
    # Locked: even the right password gets the wrong-password answer, so nothing leaks.
    assert_error(login(http, app_client, PASSWORD), 400, *BAD)
    clock.advance(599)
    assert_error(login(http, app_client, PASSWORD), 400, *BAD)
    clock.advance(1)
    assert login(http, app_client, PASSWORD).status_code == 200


def test_an_unknown_username_is_throttled_like_a_known_one(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    for _ in range(4):
        assert_error(login(http, app_client, "x", username="nobody"), 400, *BAD)
    assert login(http, app_client, PASSWORD).status_code == 200  # alice is unaffected


def test_the_operator_unlocks_an_account(
    http: TestClient, app_client: Registered, alice: str, admin: Admin
) -> None:
    for _ in range(3):
        login(http, app_client, "wrong")
    assert_error(login(http, app_client, PASSWORD), 400, *BAD)
    admin.throttle().unlock("alice")
    assert login(http, app_client, PASSWORD).status_code == 200


def test_the_client_address_comes_from_the_trusted_proxy_header_only_when_configured(
    authority: Authority, app_client: Registered, alice: str
) -> None:
    from authority.web.app import create_app

    authority.settings = authority.settings.replace(trusted_proxy_header="X-Forwarded-For")
    with TestClient(create_app(authority=authority), base_url="http://localhost:8000") as http:
        for n in range(3):
            response = http.post(
                "/token",
                data={"grant_type": "password", "username": f"u{n}", "password": "x"},
                auth=app_client.basic,
                headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.7"},
            )
            assert response.status_code == 400
    ip_row = authority.storage.locked_until(["ip:198.51.100.7"])
    assert ip_row == 0  # counted, not locked yet (50 per address by default)
    with authority.storage.engine.connect() as conn:
        from sqlalchemy import text

        keys = {r[0] for r in conn.execute(text("SELECT key FROM login_failures"))}
    assert "ip:198.51.100.7" in keys and "ip:203.0.113.9" not in keys
