"""GET /openapi.json, and what the endpoints answer held to it: each answer below is one its
operation documents, status, headers and body (tests/openapi_contract.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.settings import Settings
from authority.storage.sql import SqlStorage
from authority.web import openapi
from tests.conftest import ISSUER, Registered
from tests.http.account_helpers import PASSWORD, bearer, login, register
from tests.http.cookie_helpers import (
    cookie_client,
    page_headers,
    password_login,
    signed_in,
)
from tests.http.helpers import database_unreachable, post_token
from tests.openapi_contract import COOKIE, assert_documented

CC = {"grant_type": "client_credentials"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(registration="open")


@pytest.fixture
def oidc_client(admin: Admin) -> Registered:
    """An app whose logins may ask for openid and call the authority (aud = issuer)."""
    client, secret = admin.create_client(
        "oidc", ["password", "refresh_token"], ["openid", "profile", "email"], ["openid"], [ISSUER]
    )
    return Registered(client.client_id, secret)


def test_serves_the_document_with_the_issuer_as_its_server(http: TestClient) -> None:
    response = assert_documented(http.get("/openapi.json"))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == openapi.document(ISSUER, COOKIE)
    assert response.json()["servers"] == [{"url": ISSUER}]
    assert response.headers["cache-control"] == "public, max-age=300"
    etag = response.headers["etag"]
    again = assert_documented(http.get("/openapi.json", headers={"If-None-Match": etag}))
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)


def test_any_page_may_read_the_document_without_credentials(http: TestClient) -> None:
    response = http.get("/openapi.json", headers={"Origin": "https://docs.example"})

    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers


def test_token_answers_are_documented(
    http: TestClient, service_client: Registered, app_client: Registered, alice: str
) -> None:
    assert_documented(post_token(http, CC, service_client))
    tokens = assert_documented(login(http, app_client, PASSWORD)).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert_documented(post_token(http, refresh, app_client))
    assert_documented(post_token(http, refresh, app_client))  # reused: invalid_grant
    assert_documented(post_token(http, {}, service_client))  # invalid_request
    assert_documented(post_token(http, {"grant_type": "magic"}, service_client))
    assert_documented(post_token(http, {**CC, "scope": "delete"}, service_client))
    assert_documented(post_token(http, CC, Registered(service_client.client_id, "wrong")))
    post = {**CC, "client_id": service_client.client_id, "client_secret": "wrong"}
    assert_documented(post_token(http, post))  # invalid_client without Basic: 400
    too_large = http.post("/token", content=b"a" * (64 * 1024 + 1), headers=FORM)
    assert assert_documented(too_large).status_code == 413


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_revocation_and_introspection_answers_are_documented(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    tokens = login(http, app_client, PASSWORD).json()

    for token in (tokens["access_token"], tokens["refresh_token"], "not-a-token"):
        introspected = assert_documented(
            http.post("/introspect", data={"token": token}, auth=app_client.basic)
        )
        assert introspected.json()["active"] is (token != "not-a-token")
    assert_documented(http.post("/introspect", data={}, auth=app_client.basic))
    revoked = http.post("/revoke", data={"token": tokens["refresh_token"]}, auth=app_client.basic)
    assert assert_documented(revoked).status_code == 200
    assert_documented(http.post("/revoke", data={}, auth=app_client.basic))
    assert_documented(http.post("/revoke", data={"token": "x"}, auth=("nobody", "x")))


def test_userinfo_answers_are_documented(
    http: TestClient, oidc_client: Registered, app_client: Registered, alice: str
) -> None:
    data = {"grant_type": "password", "username": "alice", "password": PASSWORD}
    with_openid = post_token(http, {**data, "scope": "openid profile email"}, oidc_client)
    token = with_openid.json()["access_token"]

    for method in ("GET", "POST"):
        answer = assert_documented(http.request(method, "/userinfo", headers=bearer(token)))
        assert set(answer.json()) == {"sub", "preferred_username", "email", "email_verified"}
    assert assert_documented(http.get("/userinfo")).status_code == 401
    no_openid = login(http, app_client, PASSWORD).json()["access_token"]
    assert assert_documented(http.get("/userinfo", headers=bearer(no_openid))).status_code == 403


def test_session_and_consent_answers_are_documented(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    token = login(http, app_client, PASSWORD).json()["access_token"]
    other = login(http, app_client, PASSWORD).json()["access_token"]

    listed = assert_documented(http.get("/sessions", headers=bearer(token))).json()
    [gone] = [s["id"] for s in listed["sessions"] if not s["current"]]
    assert assert_documented(http.delete(f"/sessions/{gone}", headers=bearer(token))).is_success
    assert_documented(http.delete(f"/sessions/{gone}", headers=bearer(token)))  # 404
    assert_documented(http.get("/consents", headers=bearer(token)))
    assert_documented(http.delete("/consents/someone", headers=bearer(token)))  # 404
    assert_documented(http.delete("/sessions", headers=bearer(token)))
    assert_documented(http.get("/sessions", headers=bearer(other)))  # 401: ended
    assert_documented(http.get("/consents"))


def test_cookie_mode_answers_are_documented(http: TestClient, admin: Admin, alice: str) -> None:
    spa = cookie_client(admin)
    assert_documented(password_login(http, spa))  # the refresh token in Set-Cookie
    cookie, _ = signed_in(http, spa)

    refresh = {"grant_type": "refresh_token", "client_id": spa.client_id}
    cookie_refresh = http.post("/token", data=refresh, headers=page_headers(cookie))
    cookie = assert_documented(cookie_refresh).cookies.get(COOKIE) or cookie
    assert_documented(http.get("/sessions", headers=page_headers(cookie)))
    assert_documented(http.get("/sessions", headers=page_headers(cookie, csrf=None)))  # 400
    assert assert_documented(http.post("/logout", headers=page_headers(cookie))).status_code == 204
    assert_documented(http.post("/logout", headers=page_headers(cookie, origin=None)))  # 400


def test_account_answers_are_documented(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    assert assert_documented(register(http, "bob", "bob@example.com")).status_code == 201
    assert assert_documented(register(http, "bob", "bob2@example.com")).status_code == 409
    assert_documented(register(http, "carol", "carol@example.com", password="short"))
    assert_documented(http.post("/accounts/register", json={"username": 1}))
    for path in ("/accounts/password/reset", "/accounts/verify-email/resend"):
        assert assert_documented(http.post(path, json={"email": "x@example.com"})).is_success
        assert_documented(http.post(path, json={"email": "not an address"}))
    assert_documented(http.post("/accounts/verify-email", json={"token": "spent"}))
    confirm = {"token": "spent", "new_password": "a fine new passphrase"}
    assert_documented(http.post("/accounts/password/reset/confirm", json=confirm))
    token = login(http, app_client, PASSWORD).json()["access_token"]
    change = {"current_password": "wrong", "new_password": "a fine new passphrase"}
    change_path = "/accounts/password/change"
    assert_documented(http.post(change_path, json=change, headers=bearer(token)))
    change["current_password"] = PASSWORD
    changed = assert_documented(http.post(change_path, json=change, headers=bearer(token)))
    assert changed.json() == {"status": "password_changed", "sessions_ended": 0}
    assert_documented(http.post(change_path, json=change))  # 401


def test_a_closed_registration_is_documented(http: TestClient, settings: Settings) -> None:
    http.app.state.authority.accounts.registration_open = False  # type: ignore[attr-defined]

    assert assert_documented(register(http, "bob", "bob@example.com")).status_code == 403


def test_metadata_and_probe_answers_are_documented(http: TestClient) -> None:
    jwks = assert_documented(http.get("/jwks.json"))
    etag = jwks.headers["etag"]
    assert (
        assert_documented(http.get("/jwks.json", headers={"If-None-Match": etag})).status_code
        == 304
    )
    assert_documented(http.get("/.well-known/openid-configuration"))
    assert_documented(http.get("/.well-known/oauth-authorization-server"))
    assert_documented(http.get("/healthz"))
    assert assert_documented(http.get("/readyz")).status_code == 200


def test_answers_during_a_database_outage_are_documented(
    http: TestClient,
    storage: SqlStorage,
    service_client: Registered,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    with database_unreachable(storage, monkeypatch, tmp_path):
        assert assert_documented(http.get("/readyz")).status_code == 503
        assert assert_documented(post_token(http, CC, service_client)).status_code == 503
        assert_documented(http.post("/accounts/password/reset", json={"email": "a@b.example"}))


def test_a_browsers_logout_answers_are_documented(http: TestClient) -> None:
    posted = http.post("/logout", data={"state": "s"}, follow_redirects=False)
    assert assert_documented(posted).status_code == 303
    refused = http.post("/logout", data={"client_id": "nobody"})
    assert assert_documented(refused).headers["content-type"].startswith("text/html")
