"""The resource owner password credentials grant (RFC 6749 §4.3)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.runtime import Authority
from authority.storage.sql import SqlStorage
from authority.web.app import create_app
from tests.conftest import ISSUER, FakeClock, Registered
from tests.http.helpers import (
    assert_error,
    assert_token_response,
    post_token,
    same_headers,
    verify_access_token,
)

API, OTHER = "https://api.example", "https://other.example"
PASSWORD = "correct horse battery"
BAD_CREDENTIALS = "invalid username or password"


def login(**extra: str | list[str]) -> dict[str, str | list[str]]:
    return {"grant_type": "password", "username": "alice", "password": PASSWORD, **extra}


# -- missing parameters -----------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["username", "password"])
def test_rejects_a_request_without_username_or_password(
    http: TestClient, app_client: Registered, alice: str, missing: str
) -> None:
    data = login()
    del data[missing]
    response = post_token(http, data, app_client)
    assert_error(response, 400, "invalid_request", f"missing parameter: {missing}")


@pytest.mark.parametrize("empty", ["username", "password"])
def test_treats_an_empty_username_or_password_as_missing(
    http: TestClient, app_client: Registered, alice: str, empty: str
) -> None:
    response = post_token(http, login(**{empty: ""}), app_client)
    assert_error(response, 400, "invalid_request", f"missing parameter: {empty}")


# -- wrong credentials ------------------------------------------------------------------------


def test_refuses_a_wrong_password(http: TestClient, app_client: Registered, alice: str) -> None:
    response = post_token(http, login(password="wrong horse battery"), app_client)
    assert_error(response, 400, "invalid_grant", BAD_CREDENTIALS)


def test_refuses_an_unknown_user_with_the_same_answer(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    wrong = post_token(http, login(password="wrong horse battery"), app_client)
    unknown = post_token(http, login(username="mallory"), app_client)
    assert_error(unknown, 400, "invalid_grant", BAD_CREDENTIALS)
    assert unknown.content == wrong.content
    assert same_headers(unknown, wrong)


def test_refuses_a_disabled_user_with_the_same_answer(
    http: TestClient, app_client: Registered, alice: str, storage: SqlStorage, clock: FakeClock
) -> None:
    assert storage.set_user_disabled(alice, True, int(clock.now))
    assert_error(post_token(http, login(), app_client), 400, "invalid_grant", BAD_CREDENTIALS)


@pytest.mark.parametrize(
    "changes",
    [
        {"username": "Alice"},
        {"username": "alice "},
        {"username": "a" * 151},
        {"password": PASSWORD.upper()},
        {"password": PASSWORD + " "},
        {"password": "x" * 1025},
    ],
)
def test_refuses_near_misses_and_over_long_input_with_the_same_answer(
    http: TestClient, app_client: Registered, alice: str, changes: dict[str, str]
) -> None:
    response = post_token(http, login(**changes), app_client)
    assert_error(response, 400, "invalid_grant", BAD_CREDENTIALS)


# -- scope and resource -----------------------------------------------------------------------


def test_refuses_a_scope_the_client_may_not_have(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    response = post_token(http, login(scope="read delete"), app_client)
    assert_error(response, 400, "invalid_scope", "scope not allowed for this client: delete")


def test_refuses_a_malformed_scope(http: TestClient, app_client: Registered, alice: str) -> None:
    response = post_token(http, login(scope="read,write"), app_client)
    assert_error(response, 400, "invalid_scope", "scope not allowed for this client: read,write")
    response = post_token(http, login(scope="read  write"), app_client)
    assert_error(
        response, 400, "invalid_scope", "scope must be space-separated tokens of printable ASCII"
    )


def test_refuses_a_resource_the_client_may_not_use(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    response = post_token(http, login(resource="https://evil.example"), app_client)
    assert_error(
        response,
        400,
        "invalid_target",
        "this client may not request tokens for https://evil.example",
    )


def test_checks_scope_even_for_a_wrong_password(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    response = post_token(http, login(scope="delete", password="nope"), app_client)
    assert_error(response, 400, "invalid_scope", "scope not allowed for this client: delete")


# -- success ----------------------------------------------------------------------------------


def test_issues_a_user_token_with_auth_time_and_amr(
    http: TestClient, app_client: Registered, alice: str, clock: FakeClock
) -> None:
    body = assert_token_response(post_token(http, login(), app_client), refresh=True)
    claims = verify_access_token(http, body["access_token"], API)
    now = int(clock.now)
    assert claims == {
        "iss": ISSUER,
        "sub": alice,
        "aud": API,
        "exp": now + 900,
        "iat": now,
        "jti": claims["jti"],
        "client_id": app_client.client_id,
        "scope": "read write",
        "auth_time": now,
        "amr": ["pwd"],
        "sid": claims["sid"],
    }
    # sid names the session (refresh-token family) this login started.
    sessions = http.get("/sessions", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert sessions.status_code == 401  # aud is the API, not the authority itself
    assert body["scope"] == "read write"
    assert body["expires_in"] == 900


def test_issues_an_opaque_refresh_token_of_at_least_256_bits(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    first = assert_token_response(post_token(http, login(), app_client), refresh=True)
    second = assert_token_response(post_token(http, login(), app_client), refresh=True)
    assert len(first["refresh_token"]) >= 43  # base64url of 32 random bytes
    assert first["refresh_token"].count(".") == 0  # not a JWT
    assert first["refresh_token"] != second["refresh_token"]


def test_a_refresh_token_never_outlives_its_session(
    app_client: Registered, alice: str, authority: Authority, clock: FakeClock
) -> None:
    settings = authority.settings.replace(refresh_token_ttl=7200, session_max_age=3600)
    short = Authority(settings, authority.storage, clock=clock)
    with TestClient(create_app(authority=short), base_url=ISSUER) as http:
        body = assert_token_response(post_token(http, login(), app_client), refresh=True)
        token = {"token": body["refresh_token"]}
        answer = http.post("/introspect", data=token, auth=app_client.basic).json()

    assert answer["exp"] == int(clock.now) + 3600


def test_issues_no_refresh_token_to_a_client_without_the_refresh_token_grant(
    http: TestClient, admin: Admin, alice: str
) -> None:
    client, secret = admin.create_client("cli", ["password"], ["read"], None, [API])
    response = post_token(http, login(), Registered(client.client_id, secret))
    body = assert_token_response(response, refresh=False)
    claims = verify_access_token(http, body["access_token"], API)
    assert claims["sub"] == alice
    # No refresh token, yet a session of its one access token, which logging out ends.
    assert claims["sid"] == claims["jti"]


def test_grants_a_narrower_scope_when_asked(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    body = assert_token_response(post_token(http, login(scope="admin"), app_client), refresh=True)
    assert body["scope"] == "admin"
    assert verify_access_token(http, body["access_token"], API)["scope"] == "admin"


def test_sets_aud_to_the_resources_asked_for(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    response = post_token(http, login(resource=OTHER), app_client)
    body = assert_token_response(response, refresh=True)
    assert verify_access_token(http, body["access_token"], OTHER)["aud"] == OTHER
    response = post_token(http, login(resource=[OTHER, API]), app_client)
    body = assert_token_response(response, refresh=True)
    assert verify_access_token(http, body["access_token"], API)["aud"] == [OTHER, API]


def test_accepts_a_non_ascii_password(
    http: TestClient, app_client: Registered, admin: Admin
) -> None:
    sub = admin.create_user("bob", "pässwörd ✓ 🔑", None).sub
    data: dict[str, Any] = {
        "grant_type": "password",
        "username": "bob",
        "password": "pässwörd ✓ 🔑",
    }
    body = assert_token_response(post_token(http, data, app_client), refresh=True)
    assert verify_access_token(http, body["access_token"], API)["sub"] == sub


def test_accepts_a_non_ascii_username(
    http: TestClient, app_client: Registered, admin: Admin
) -> None:
    sub = admin.create_user("zoë", PASSWORD, None).sub
    response = post_token(http, login(username="zoë"), app_client)
    body = assert_token_response(response, refresh=True)
    assert verify_access_token(http, body["access_token"], API)["sub"] == sub


def test_accepts_the_user_again_once_enabled(
    http: TestClient, app_client: Registered, alice: str, storage: SqlStorage, clock: FakeClock
) -> None:
    storage.set_user_disabled(alice, True, int(clock.now))
    assert post_token(http, login(), app_client).status_code == 400
    storage.set_user_disabled(alice, False, int(clock.now))
    assert_token_response(post_token(http, login(), app_client), refresh=True)
