"""AUTHORITY_CLAIMS_HOOK: the operator's function adds claims to a user's access tokens,
within bounds; a hook that breaks them fails the request with server_error, and logs why."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from authority.oauth.claims_hook import ClaimsUser
from authority.runtime import Authority
from authority.settings import Settings
from tests import claims_hooks
from tests.conftest import Registered
from tests.http.authorize_helpers import (
    REDIRECT_URI,
    VERIFIER,
    add_web_client,
    log_in,
    redirect_query,
    request_params,
)
from tests.http.helpers import assert_error, post_token, unverified_claims, verify_access_token

HOOK = "tests.claims_hooks:claims"
PASSWORD = "correct horse battery"
API = "https://api.example"
SERVER_ERROR = (500, "server_error", "The server met an unexpected condition.")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(claims_hook=HOOK)


@pytest.fixture(autouse=True)
def hook() -> Iterator[None]:
    claims_hooks.mode = "good"
    claims_hooks.calls.clear()
    yield
    claims_hooks.mode = "good"
    claims_hooks.calls.clear()


def password_login(http: TestClient, client: Registered, scope: str = "read") -> dict[str, str]:
    data = {"grant_type": "password", "username": "alice", "password": PASSWORD, "scope": scope}
    response = post_token(http, data, client)
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def refresh(http: TestClient, client: Registered, token: str) -> dict[str, str]:
    response = post_token(http, {"grant_type": "refresh_token", "refresh_token": token}, client)
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


# -- a hook that breaks a rule ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "logged"),
    [
        ("sets_sub", "may not set scope, sub (the server's own claims)"),
        ("not_json", "returned a value that is not JSON: Object of type date is not JSON"),
        ("too_big", "returned 5011 bytes of claims (at most 4096)"),
        ("not_a_dict", "returned a list, not a dict"),
        ("raises", "raised LookupError: the directory is down; the token request failed"),
    ],
)
def test_a_hook_that_breaks_a_rule_fails_the_login_with_server_error_and_says_why_in_the_log(
    http: TestClient,
    authority: Authority,
    app_client: Registered,
    alice: str,
    caplog: pytest.LogCaptureFixture,
    mode: str,
    logged: str,
) -> None:
    claims_hooks.mode = mode
    data = {"grant_type": "password", "username": "alice", "password": PASSWORD}

    with caplog.at_level(logging.ERROR, logger="authority"):
        response = post_token(http, data, app_client)

    assert_error(response, *SERVER_ERROR)
    [record] = [r for r in caplog.records if r.name == "authority"]
    assert record.getMessage().startswith(f"AUTHORITY_CLAIMS_HOOK {HOOK} ")
    assert logged in record.getMessage()
    if mode == "raises":  # the operator's own code: its traceback, in the log only
        assert record.exc_info is not None
        assert "the directory is down" not in response.text
    # Nothing was started: no session to end, nothing issued.
    assert authority.storage.list_sessions(alice, authority.now()) == []


def test_a_failing_hook_leaves_the_refresh_token_usable(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    first = password_login(http, app_client)
    claims_hooks.mode = "raises"

    response = post_token(
        http, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, app_client
    )
    assert_error(response, *SERVER_ERROR)

    # Once the hook works again, the same refresh token works: the failure consumed nothing.
    claims_hooks.mode = "good"
    again = refresh(http, app_client, first["refresh_token"])
    assert unverified_claims(again["access_token"])["groups"] == ["staff", "billing"]


def test_a_failing_hook_leaves_the_authorization_code_usable(
    http: TestClient, authority: Authority, alice: str
) -> None:
    spa = add_web_client(authority.storage, public=True)
    code = redirect_query(log_in(http, request_params(spa)))["code"]
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": VERIFIER,
        "client_id": spa.client_id,
    }
    claims_hooks.mode = "sets_sub"
    assert_error(post_token(http, exchange), *SERVER_ERROR)

    claims_hooks.mode = "good"
    answer = post_token(http, exchange)
    assert answer.status_code == 200, answer.text
    assert unverified_claims(answer.json()["access_token"])["sub"] == alice


# -- a hook that keeps to the rules -----------------------------------------------------------


def test_the_password_grant_adds_the_hooks_claims_beside_the_servers_own(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    body = password_login(http, app_client, "read write")

    claims = verify_access_token(http, body["access_token"], API)
    assert claims["preferred_username"] == "alice"
    assert claims["email"] == "alice@example.com"
    assert claims["groups"] == ["staff", "billing"]
    assert (claims["sub"], claims["client_id"], claims["scope"]) == (
        alice,
        app_client.client_id,
        "read write",
    )
    [call] = claims_hooks.calls
    assert call.request.user == ClaimsUser(alice, "alice", "alice@example.com", False)
    assert (call.request.client_id, call.request.scope) == (app_client.client_id, ("read", "write"))
    assert call.request.grant_type == "password"
    assert call.on_event_loop is False  # on the grant's thread


def test_every_refresh_asks_the_hook_again(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    first = password_login(http, app_client)
    claims_hooks.GROUPS["alice"] = ["staff"]  # the directory changed meanwhile
    try:
        second = refresh(http, app_client, first["refresh_token"])
    finally:
        claims_hooks.GROUPS["alice"] = ["staff", "billing"]

    assert unverified_claims(second["access_token"])["groups"] == ["staff"]
    assert [c.request.grant_type for c in claims_hooks.calls] == ["password", "refresh_token"]
    assert claims_hooks.calls[1].request.user.sub == alice
    assert claims_hooks.calls[1].on_event_loop is False


def test_the_code_grant_adds_the_hooks_claims_to_the_access_token_only(
    http: TestClient, authority: Authority, alice: str
) -> None:
    spa = add_web_client(authority.storage, public=True)
    code = redirect_query(log_in(http, request_params(spa, scope="openid read")))["code"]
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": VERIFIER,
        "client_id": spa.client_id,
    }
    answer = post_token(http, exchange)
    assert answer.status_code == 200, answer.text
    body = answer.json()

    assert unverified_claims(body["access_token"])["groups"] == ["staff", "billing"]
    # The id_token's claims are the OIDC scopes' (none here beyond openid), not the hook's.
    id_token = unverified_claims(body["id_token"])
    assert "groups" not in id_token and "email" not in id_token
    [call] = claims_hooks.calls
    assert (call.request.grant_type, call.request.scope) == (
        "authorization_code",
        ("openid", "read"),
    )


def test_a_hook_that_returns_none_adds_nothing(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    claims_hooks.mode = "nothing"
    claims = unverified_claims(password_login(http, app_client)["access_token"])

    assert set(claims) == {"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"} | {
        "auth_time",
        "amr",
        "sid",
    }


def test_client_credentials_tokens_are_not_given_to_the_hook(
    http: TestClient, service_client: Registered
) -> None:
    response = post_token(http, {"grant_type": "client_credentials"}, service_client)

    assert response.status_code == 200, response.text
    assert "groups" not in unverified_claims(response.json()["access_token"])
    assert claims_hooks.calls == []
