"""A user's sessions over HTTP: GET /sessions, DELETE /sessions/{id}, DELETE /sessions."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.runtime import Authority
from tests.conftest import ISSUER, FakeClock, Registered
from tests.http.browser_helpers import app_session
from tests.http.helpers import assert_no_store, post_token

PASSWORD = "correct horse battery"


def login(http: TestClient, client: Registered, resource: str = ISSUER) -> dict[str, Any]:
    """A password login whose access token may call the authority's own endpoints."""
    data = {
        "grant_type": "password",
        "username": "alice",
        "password": PASSWORD,
        "resource": resource,
    }
    response = post_token(http, data, client)
    assert response.status_code == 200, response.text
    return dict(response.json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def introspect(http: TestClient, client: Registered, token: str) -> bool:
    response = http.post("/introspect", data={"token": token}, auth=client.basic)
    return bool(response.json()["active"])


def assert_bearer_error(response: httpx2.Response, challenge: str) -> None:
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith(challenge)
    assert_no_store(response)


def test_without_a_token_the_answer_is_a_bare_bearer_challenge(http: TestClient) -> None:
    response = http.get("/sessions")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="authority"'


def test_bad_expired_or_foreign_audience_tokens_are_invalid_token(
    http: TestClient, app_client: Registered, alice: str, clock: FakeClock
) -> None:
    assert_bearer_error(
        http.get("/sessions", headers=bearer("garbage")),
        'Bearer realm="authority", error="invalid_token"',
    )
    assert_bearer_error(
        http.get("/sessions", headers={"Authorization": "Basic eDp5"}),
        'Bearer realm="authority", error="invalid_token"',
    )
    api_only = login(http, app_client, resource="https://api.example")["access_token"]
    assert_bearer_error(
        http.get("/sessions", headers=bearer(api_only)),
        'Bearer realm="authority", error="invalid_token"',
    )
    token = login(http, app_client)["access_token"]
    clock.advance(901)
    assert_bearer_error(
        http.get("/sessions", headers=bearer(token)),
        'Bearer realm="authority", error="invalid_token"',
    )


def test_a_service_token_has_no_user_sessions(http: TestClient, admin: Admin, alice: str) -> None:
    client, secret = admin.create_client("svc", ["client_credentials"], ["read"], None, [])
    token = post_token(
        http, {"grant_type": "client_credentials"}, Registered(client.client_id, secret)
    ).json()["access_token"]
    assert_bearer_error(
        http.get("/sessions", headers=bearer(token)),
        'Bearer realm="authority", error="invalid_token"',
    )


def test_a_user_lists_one_session_per_login_and_sees_which_is_current(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    phone = login(http, app_client)
    laptop = login(http, app_client)
    response = http.get("/sessions", headers=bearer(laptop["access_token"]))
    assert response.status_code == 200
    assert_no_store(response)
    sessions = response.json()["sessions"]
    assert len(sessions) == 2
    assert [s["current"] for s in sessions].count(True) == 1
    assert {s["client_id"] for s in sessions} == {app_client.client_id}
    assert phone["refresh_token"] != laptop["refresh_token"]


def test_ending_one_session_kills_its_refresh_and_access_tokens_only(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    phone = login(http, app_client)
    laptop = login(http, app_client)
    sessions = http.get("/sessions", headers=bearer(laptop["access_token"])).json()["sessions"]
    phone_id = next(s["id"] for s in sessions if not s["current"])
    response = http.delete(f"/sessions/{phone_id}", headers=bearer(laptop["access_token"]))
    assert response.status_code == 204
    assert not introspect(http, app_client, phone["access_token"])
    assert not introspect(http, app_client, phone["refresh_token"])
    assert introspect(http, app_client, laptop["access_token"])
    refreshed = post_token(
        http, {"grant_type": "refresh_token", "refresh_token": phone["refresh_token"]}, app_client
    )
    assert refreshed.json()["error"] == "invalid_grant"
    again = http.delete(f"/sessions/{phone_id}", headers=bearer(laptop["access_token"]))
    assert again.status_code == 404


def test_log_out_everywhere_kills_every_family_and_its_access_tokens(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    logins = [login(http, app_client) for _ in range(3)]
    # One session has already rotated: its older access token must die too.
    rotated = post_token(
        http,
        {"grant_type": "refresh_token", "refresh_token": logins[0]["refresh_token"]},
        app_client,
    ).json()
    response = http.delete("/sessions", headers=bearer(logins[1]["access_token"]))
    assert response.status_code == 204
    tokens = [t for x in logins for t in (x["access_token"], x["refresh_token"])]
    tokens += [rotated["access_token"], rotated["refresh_token"]]
    assert not any(introspect(http, app_client, t) for t in tokens)
    # The token that logged out everywhere is itself denied now.
    assert_bearer_error(
        http.get("/sessions", headers=bearer(logins[1]["access_token"])),
        'Bearer realm="authority", error="invalid_token"',
    )


def test_a_user_cannot_end_another_users_session(
    http: TestClient, app_client: Registered, alice: str, admin: Admin
) -> None:
    admin.create_user("bob", "another long password", None)
    alice_tokens = login(http, app_client)
    bob = post_token(
        http,
        {
            "grant_type": "password",
            "username": "bob",
            "password": "another long password",
            "resource": ISSUER,
        },
        app_client,
    ).json()
    alice_sessions = http.get("/sessions", headers=bearer(alice_tokens["access_token"])).json()
    alice_id = alice_sessions["sessions"][0]["id"]
    response = http.delete(f"/sessions/{alice_id}", headers=bearer(bob["access_token"]))
    assert response.status_code == 404
    assert introspect(http, app_client, alice_tokens["refresh_token"])


@pytest.mark.parametrize(
    "session_id",
    [
        "unknown-session-id",
        "%00",
        "a%00b",
        "%01",
        "tab%09id",
        "%7F",
        "caf%C3%A9",
        "a" * 65,
    ],
    ids=["unknown", "nul", "inner-nul", "control", "tab", "del", "non-ascii", "too-long"],
)
def test_an_id_no_session_can_have_is_answered_as_an_unknown_one(
    http: TestClient, app_client: Registered, alice: str, session_id: str
) -> None:
    tokens = login(http, app_client)
    response = http.delete(f"/sessions/{session_id}", headers=bearer(tokens["access_token"]))
    assert (response.status_code, response.json()) == (
        404,
        {"error": "not_found", "error_description": "no such session"},
    )
    assert_no_store(response)
    assert introspect(http, app_client, tokens["refresh_token"])


# -- browsers signed in on the hosted pages -------------------------------------------------


def test_signed_in_browsers_are_listed_beside_the_apps_sessions(
    http: TestClient, authority: Authority, app_client: Registered, alice: str
) -> None:
    user = authority.storage.get_user(alice)
    assert user is not None
    _, browser = authority.browser.start(user, ("pwd",), authority.now())
    tokens = login(http, app_client)

    response = http.get("/sessions", headers=bearer(tokens["access_token"]))

    assert response.status_code == 200
    [app, signed_in] = response.json()["sessions"]
    assert app == {
        "id": app["id"],
        "kind": "app",
        "client_id": app_client.client_id,
        "scope": "read write",
        "created_at": authority.now(),
        "last_used_at": authority.now(),
        "expires_at": app["expires_at"],
        "current": True,
    }
    assert signed_in == {
        "id": browser.session_id,
        "kind": "browser",
        "created_at": browser.created_at,
        "auth_time": browser.auth_time,
        "expires_at": browser.expires_at,
        "current": False,
    }


def test_ending_a_browser_session_ends_the_apps_sessions_started_from_it(
    http: TestClient, authority: Authority, app_client: Registered, alice: str, admin: Admin
) -> None:
    user = authority.storage.get_user(alice)
    assert user is not None
    _, browser = authority.browser.start(user, ("pwd",), authority.now())
    started = app_session(authority, app_client.client_id, alice, browser.session_id)
    tokens = login(http, app_client)
    bob = admin.create_user("bob", "another long password", None)
    bobs_token = app_session(authority, app_client.client_id, bob.sub, None).access_token

    refused = http.delete(f"/sessions/{browser.session_id}", headers=bearer(bobs_token))
    response = http.delete(
        f"/sessions/{browser.session_id}", headers=bearer(tokens["access_token"])
    )

    assert (refused.status_code, refused.json()) == (
        404,
        {"error": "not_found", "error_description": "no such session"},
    )
    assert response.status_code == 204
    assert authority.browser.list(alice, authority.now()) == []
    assert not introspect(http, app_client, started.refresh_token)
    assert not introspect(http, app_client, started.access_token)
    assert introspect(http, app_client, tokens["refresh_token"])
    again = http.delete(f"/sessions/{browser.session_id}", headers=bearer(tokens["access_token"]))
    assert again.status_code == 404
