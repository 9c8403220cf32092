"""A change an operator makes (the CLI's use cases) reaches the running server within a second,
though its periodic reload and client cache would wait five minutes: what it signs with, and
what it accepts. Across processes: tests/e2e/test_propagation.py."""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt
import pytest
from starlette.testclient import TestClient

from authority.accounts.browser import BrowserSignIns
from authority.admin import keys as signing_keys
from authority.admin.bootstrap import prepare
from authority.admin.manage import rotate_secret
from authority.admin.provision import Admin, ClientUpdate
from authority.runtime import Authority
from authority.settings import Settings
from authority.storage.sql import SqlStorage
from authority.web.app import create_app
from tests.conftest import ISSUER, FakeClock, Registered
from tests.http.authorize_helpers import add_web_client, authorize, redirect_query, request_params
from tests.http.browser_helpers import sign_in
from tests.http.cookie_helpers import cookie_client
from tests.http.helpers import post_token

SLOW = 300  # the fallbacks: nothing in these tests may wait for them
WITHIN = 1.0
CLIENT_CREDENTIALS = {"grant_type": "client_credentials"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(client_cache_ttl=SLOW, key_reload_seconds=SLOW)


def within(condition: Callable[[], bool], seconds: float = WITHIN) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        time.sleep(0.02)


def _kid(http: TestClient, client: Registered) -> str:
    response = post_token(http, CLIENT_CREDENTIALS, client)
    assert response.status_code == 200, response.text
    return str(jwt.get_unverified_header(response.json()["access_token"])["kid"])


def _status(http: TestClient, client: Registered | tuple[str, str]) -> int:
    auth = client if isinstance(client, tuple) else client.basic
    return http.post("/token", data=CLIENT_CREDENTIALS, auth=auth).status_code


def test_a_rotation_signs_with_the_new_key_within_a_second(
    http: TestClient, admin: Admin, service_client: Registered
) -> None:
    before = _kid(http, service_client)

    [report] = signing_keys.rotate(admin, "ES256", force=True, now_=False, revoke_current=False)

    assert report.activated != before
    within(lambda: _kid(http, service_client) == report.activated)


def test_an_emergency_revocation_stops_accepting_the_keys_tokens_within_a_second(
    http: TestClient, admin: Admin, service_client: Registered
) -> None:
    compromised = post_token(http, CLIENT_CREDENTIALS, service_client).json()["access_token"]

    [report] = signing_keys.rotate(admin, "ES256", force=False, now_=True, revoke_current=True)

    def applied() -> bool:
        asked = http.post("/introspect", data={"token": compromised}, auth=service_client.basic)
        published = {k["kid"] for k in http.get("/jwks.json").json()["keys"]}
        return asked.json() == {"active": False} and report.revoked not in published

    within(applied)
    assert _kid(http, service_client) == report.activated


def test_a_generated_key_is_published_within_a_second(http: TestClient, admin: Admin) -> None:
    info = signing_keys.generate(admin, "RS256")

    within(lambda: info.kid in {k["kid"] for k in http.get("/jwks.json").json()["keys"]})


def test_a_disabled_client_is_refused_and_an_enabled_one_accepted_within_a_second(
    http: TestClient, admin: Admin, service_client: Registered
) -> None:
    assert _status(http, service_client) == 200  # cached from here on
    storage = admin.storage

    storage.set_client_disabled(service_client.client_id, True, int(time.time()))
    within(lambda: _status(http, service_client) == 401)

    storage.set_client_disabled(service_client.client_id, False, int(time.time()))
    within(lambda: _status(http, service_client) == 200)


def test_a_deleted_client_is_refused_within_a_second(
    http: TestClient, admin: Admin, service_client: Registered
) -> None:
    assert _status(http, service_client) == 200

    admin.storage.delete_client(service_client.client_id, int(time.time()))

    within(lambda: _status(http, service_client) == 401)


def test_a_rotated_secret_replaces_the_old_one_within_a_second(
    http: TestClient, admin: Admin, service_client: Registered
) -> None:
    assert _status(http, service_client) == 200

    _, secret = rotate_secret(admin, service_client.client_id, 0, int(time.time()))

    within(lambda: _status(http, (service_client.client_id, secret)) == 200)
    assert _status(http, service_client) == 401


def test_a_new_browser_origin_is_answered_within_a_second(http: TestClient, admin: Admin) -> None:
    spa = cookie_client(admin)
    origin = "https://new.example"
    preflight = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    assert http.options("/token", headers=preflight).status_code == 405  # the snapshot is read

    admin.update_client(spa.client_id, ClientUpdate(add_allowed_origins=(origin,)))

    within(lambda: http.options("/token", headers=preflight).status_code == 200)


def test_a_disabled_users_browser_sign_in_is_refused_within_a_second(
    settings: Settings, storage: SqlStorage, alice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Single sign-on trusts a looked-up browser session for a while; a user disabled elsewhere
    is not signed in by it once the server is told (the clock here never lets it expire)."""
    prepare(settings, storage)
    authority = Authority(settings, storage)
    frozen = FakeClock()
    authority.browser = BrowserSignIns(
        storage, authority.digest, settings.browser_session_max_age, clock=frozen
    )
    client = add_web_client(storage)
    with TestClient(create_app(authority=authority), base_url=ISSUER) as http:
        sign_in(http, authority, alice)
        silent = request_params(client, prompt="none")
        assert "code" in redirect_query(authorize(http, silent))

        storage.set_user_disabled(alice, True, int(time.time()))

        within(lambda: redirect_query(authorize(http, silent)).get("error") == "login_required")
