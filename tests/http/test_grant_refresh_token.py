"""The refresh token grant (RFC 6749 §6): rotation and reuse detection (RFC 9700 §4.14)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.runtime import Authority
from authority.settings import Settings
from authority.storage.sql import SqlStorage
from authority.web.app import create_app
from tests.conftest import ISSUER, FakeClock, Registered
from tests.http.helpers import (
    assert_error,
    assert_token_response,
    post_token,
    unverified_claims,
    verify_access_token,
)

API, OTHER = "https://api.example", "https://other.example"
DEAD = "refresh token is invalid, expired or revoked"
REUSED = "refresh token was already used; its session is revoked"
DAY = 86400
WINDOW = 10  # AUTHORITY_REFRESH_REUSE_WINDOW's default


def login(http: TestClient, client: Registered, **extra: str | list[str]) -> dict[str, Any]:
    data = {
        "grant_type": "password",
        "username": "alice",
        "password": "correct horse battery",
        **extra,
    }
    return assert_token_response(post_token(http, data, client), refresh=True)


def refresh(http: TestClient, client: Registered, token: str, **extra: str | list[str]) -> Any:
    data = {"grant_type": "refresh_token", "refresh_token": token, **extra}
    return post_token(http, data, client)


def rotated(http: TestClient, client: Registered, token: str, **extra: str | list[str]) -> Any:
    """Refresh, expecting success; the new token response."""
    return assert_token_response(refresh(http, client, token, **extra), refresh=True)


@pytest.fixture
def other_app(admin: Admin) -> Registered:
    client, secret = admin.create_client(
        "other app", ["password", "refresh_token"], ["read", "write", "admin"], None, [API]
    )
    return Registered(client.client_id, secret)


# -- what is not a live refresh token ---------------------------------------------------------


def test_rejects_a_request_without_refresh_token(http: TestClient, app_client: Registered) -> None:
    response = post_token(http, {"grant_type": "refresh_token"}, app_client)
    assert_error(response, 400, "invalid_request", "missing parameter: refresh_token")


@pytest.mark.parametrize("token", ["garbage", "x" * 43, "é" * 10, "a" * 5000])
def test_rejects_an_unknown_refresh_token(
    http: TestClient, app_client: Registered, token: str
) -> None:
    assert_error(refresh(http, app_client, token), 400, "invalid_grant", DEAD)


def test_rejects_an_access_token_presented_as_refresh_token(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    tokens = login(http, app_client)
    response = refresh(http, app_client, tokens["access_token"])
    assert_error(response, 400, "invalid_grant", DEAD)


def test_rejects_a_reused_refresh_token_and_revokes_its_family(
    http: TestClient, app_client: Registered, alice: str, clock: FakeClock
) -> None:
    first = login(http, app_client)["refresh_token"]
    second = rotated(http, app_client, first)["refresh_token"]
    clock.advance(WINDOW)
    assert_error(refresh(http, app_client, first), 400, "invalid_grant", REUSED)
    # The successor dies with its family: whoever holds it must log in again.
    assert_error(refresh(http, app_client, second), 400, "invalid_grant", DEAD)


def test_revokes_the_family_when_an_old_token_is_replayed_after_several_rotations(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    tokens = [login(http, app_client)["refresh_token"]]
    for _ in range(3):
        tokens.append(rotated(http, app_client, tokens[-1])["refresh_token"])
    assert_error(refresh(http, app_client, tokens[1]), 400, "invalid_grant", REUSED)
    assert_error(refresh(http, app_client, tokens[-1]), 400, "invalid_grant", DEAD)


def test_revokes_only_the_replayed_family(
    http: TestClient, app_client: Registered, alice: str, clock: FakeClock
) -> None:
    stolen = login(http, app_client)["refresh_token"]
    other_session = login(http, app_client)["refresh_token"]
    rotated(http, app_client, stolen)
    clock.advance(WINDOW)
    assert_error(refresh(http, app_client, stolen), 400, "invalid_grant", REUSED)
    rotated(http, app_client, other_session)


def test_rejects_another_clients_refresh_token_without_consuming_it(
    http: TestClient, app_client: Registered, other_app: Registered, alice: str
) -> None:
    token = login(http, app_client)["refresh_token"]
    response = refresh(http, other_app, token)
    assert_error(response, 400, "invalid_grant", "refresh token was issued to another client")
    rotated(http, app_client, token)  # the rightful client's session is untouched


def test_rejects_another_clients_refresh_token_even_with_a_narrower_scope(
    http: TestClient, app_client: Registered, other_app: Registered, alice: str
) -> None:
    token = login(http, app_client)["refresh_token"]
    response = refresh(http, other_app, token, scope="read")
    assert_error(response, 400, "invalid_grant", "refresh token was issued to another client")
    rotated(http, app_client, token)


def test_rejects_an_expired_refresh_token(
    http: TestClient, app_client: Registered, alice: str, clock: FakeClock, settings: Settings
) -> None:
    token = login(http, app_client)["refresh_token"]
    clock.advance(settings.refresh_token_ttl)
    assert_error(refresh(http, app_client, token), 400, "invalid_grant", DEAD)


def test_accepts_a_refresh_token_until_just_before_it_expires(
    http: TestClient, app_client: Registered, alice: str, clock: FakeClock, settings: Settings
) -> None:
    token = login(http, app_client)["refresh_token"]
    clock.advance(settings.refresh_token_ttl - 1)
    rotated(http, app_client, token)


def test_ends_the_session_at_its_maximum_age_even_when_refreshed_in_time(
    http: TestClient, app_client: Registered, alice: str, clock: FakeClock, settings: Settings
) -> None:
    assert settings.refresh_token_ttl < settings.session_max_age
    token = login(http, app_client)["refresh_token"]
    elapsed = 0
    step = settings.refresh_token_ttl - DAY
    while elapsed + step < settings.session_max_age:
        clock.advance(step)
        elapsed += step
        token = rotated(http, app_client, token)["refresh_token"]
    clock.advance(settings.session_max_age - elapsed)
    assert_error(refresh(http, app_client, token), 400, "invalid_grant", DEAD)


def test_rejects_the_refresh_token_of_a_disabled_user(
    http: TestClient, app_client: Registered, alice: str, storage: SqlStorage, clock: FakeClock
) -> None:
    token = login(http, app_client)["refresh_token"]
    storage.set_user_disabled(alice, True, int(clock.now))
    assert_error(refresh(http, app_client, token), 400, "invalid_grant", DEAD)
    storage.set_user_disabled(alice, False, int(clock.now))
    assert_error(refresh(http, app_client, token), 400, "invalid_grant", DEAD)


def test_rejects_a_refresh_token_after_its_family_is_revoked(
    http: TestClient, app_client: Registered, alice: str, authority: Authority, clock: FakeClock
) -> None:
    token = login(http, app_client)["refresh_token"]
    storage = authority.storage
    state = storage.inspect_refresh_token(authority.digest.digest(token))
    assert state is not None
    family = state.family
    storage.revoke_family(family.family_id, int(clock.now))
    assert_error(refresh(http, app_client, token), 400, "invalid_grant", DEAD)


def test_rejects_a_refresh_token_of_a_disabled_client(
    http: TestClient, app_client: Registered, alice: str, storage: SqlStorage
) -> None:
    token = login(http, app_client)["refresh_token"]
    storage.set_client_disabled(app_client.client_id, True, int(time.time()))
    response = refresh(http, app_client, token)
    assert_error(
        response,
        401,
        "invalid_client",
        "client authentication failed",
        challenge=True,
    )


# -- a retry of a refresh whose answer was lost (the reuse window) -----------------------------


def active(http: TestClient, client: Registered, token: str) -> bool:
    response = http.post("/introspect", data={"token": token}, auth=client.basic)
    return bool(response.json()["active"])


def test_a_retry_within_the_window_replaces_the_unanswered_successor_and_keeps_the_session(
    http: TestClient, app_client: Registered, alice: str, clock: FakeClock
) -> None:
    presented = login(http, app_client)["refresh_token"]
    unanswered = rotated(http, app_client, presented)  # as if its answer had been lost
    clock.advance(WINDOW - 1)

    retried = rotated(http, app_client, presented)

    assert retried["refresh_token"] != unanswered["refresh_token"]
    assert active(http, app_client, retried["access_token"])
    assert not active(http, app_client, unanswered["access_token"])
    assert not active(http, app_client, unanswered["refresh_token"])
    rotated(http, app_client, retried["refresh_token"])  # the session lives on


def test_retries_within_the_window_each_replace_the_last_successor(
    http: TestClient, app_client: Registered, alice: str, clock: FakeClock
) -> None:
    presented = login(http, app_client)["refresh_token"]
    rotated(http, app_client, presented)
    rotated(http, app_client, presented)
    clock.advance(WINDOW - 1)  # counted from the first use, not from a retry

    last = rotated(http, app_client, presented)

    clock.advance(1)
    assert_error(refresh(http, app_client, presented), 400, "invalid_grant", REUSED)
    assert_error(refresh(http, app_client, last["refresh_token"]), 400, "invalid_grant", DEAD)


def test_a_used_token_is_a_reuse_once_the_window_has_passed(
    http: TestClient, app_client: Registered, alice: str, clock: FakeClock
) -> None:
    presented = login(http, app_client)["refresh_token"]
    successor = rotated(http, app_client, presented)
    clock.advance(WINDOW)

    assert_error(refresh(http, app_client, presented), 400, "invalid_grant", REUSED)
    assert_error(refresh(http, app_client, successor["refresh_token"]), 400, "invalid_grant", DEAD)
    assert not active(http, app_client, successor["access_token"])


def test_a_used_token_whose_successor_was_used_is_a_reuse_even_within_the_window(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    presented = login(http, app_client)["refresh_token"]
    successor = rotated(http, app_client, presented)["refresh_token"]
    latest = rotated(http, app_client, successor)

    assert_error(refresh(http, app_client, presented), 400, "invalid_grant", REUSED)
    assert_error(refresh(http, app_client, latest["refresh_token"]), 400, "invalid_grant", DEAD)
    assert not active(http, app_client, latest["access_token"])


def test_a_replaced_successor_is_a_reuse(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    presented = login(http, app_client)["refresh_token"]
    replaced = rotated(http, app_client, presented)["refresh_token"]
    retried = rotated(http, app_client, presented)

    assert_error(refresh(http, app_client, replaced), 400, "invalid_grant", REUSED)
    assert not active(http, app_client, retried["access_token"])
    assert_error(refresh(http, app_client, retried["refresh_token"]), 400, "invalid_grant", DEAD)


def test_another_clients_retry_within_the_window_changes_nothing(
    http: TestClient, app_client: Registered, other_app: Registered, alice: str
) -> None:
    presented = login(http, app_client)["refresh_token"]
    successor = rotated(http, app_client, presented)

    response = refresh(http, other_app, presented)

    assert_error(response, 400, "invalid_grant", "refresh token was issued to another client")
    assert active(http, app_client, successor["access_token"])
    rotated(http, app_client, successor["refresh_token"])


def test_with_no_window_every_used_token_is_a_reuse(
    app_client: Registered, alice: str, authority: Authority, clock: FakeClock
) -> None:
    settings = authority.settings.replace(refresh_reuse_window=0)
    strict = Authority(settings, authority.storage, clock=clock)
    with TestClient(create_app(authority=strict), base_url=ISSUER) as http:
        presented = login(http, app_client)["refresh_token"]
        successor = rotated(http, app_client, presented)["refresh_token"]

        assert_error(refresh(http, app_client, presented), 400, "invalid_grant", REUSED)
        assert_error(refresh(http, app_client, successor), 400, "invalid_grant", DEAD)


# -- narrowing --------------------------------------------------------------------------------


def test_refuses_to_broaden_scope_and_keeps_the_token_usable(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    token = login(http, app_client, scope="read")["refresh_token"]
    response = refresh(http, app_client, token, scope="read write")
    assert_error(response, 400, "invalid_scope", "scope exceeds what was originally granted: write")
    assert rotated(http, app_client, token)["scope"] == "read"


def test_refuses_a_malformed_scope_and_keeps_the_token_usable(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    token = login(http, app_client)["refresh_token"]
    response = refresh(http, app_client, token, scope="read  write")
    assert_error(
        response, 400, "invalid_scope", "scope must be space-separated tokens of printable ASCII"
    )
    rotated(http, app_client, token)


def test_refuses_a_resource_outside_the_original_grant_and_keeps_the_token_usable(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    token = login(http, app_client, resource=API)["refresh_token"]
    response = refresh(http, app_client, token, resource=OTHER)
    assert_error(
        response,
        400,
        "invalid_target",
        f"resource was not part of the original grant: {OTHER}",
    )
    rotated(http, app_client, token)


def test_narrows_scope_when_asked(http: TestClient, app_client: Registered, alice: str) -> None:
    token = login(http, app_client, scope="read write admin")["refresh_token"]
    body = rotated(http, app_client, token, scope="admin read")
    assert body["scope"] == "admin read"
    assert verify_access_token(http, body["access_token"], API)["scope"] == "admin read"


def test_returns_to_the_original_scope_when_a_later_refresh_omits_it(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    token = login(http, app_client, scope="read write")["refresh_token"]
    narrowed = rotated(http, app_client, token, scope="read")
    assert rotated(http, app_client, narrowed["refresh_token"])["scope"] == "read write"


def test_narrows_the_audience_to_a_resource_of_the_original_grant(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    token = login(http, app_client, resource=[API, OTHER])["refresh_token"]
    body = rotated(http, app_client, token, resource=OTHER)
    assert verify_access_token(http, body["access_token"], OTHER)["aud"] == OTHER
    body = rotated(http, app_client, body["refresh_token"])
    assert verify_access_token(http, body["access_token"], API)["aud"] == [API, OTHER]


# -- rotation ---------------------------------------------------------------------------------


def test_rotates_the_refresh_token_and_keeps_the_session(
    http: TestClient, app_client: Registered, alice: str, clock: FakeClock
) -> None:
    tokens = login(http, app_client)
    login_time = int(clock.now)
    clock.advance(60)
    body = rotated(http, app_client, tokens["refresh_token"])
    assert body["refresh_token"] != tokens["refresh_token"]
    assert body["access_token"] != tokens["access_token"]
    assert body["scope"] == "read write"
    assert body["expires_in"] == 900
    claims = unverified_claims(body["access_token"])
    assert claims["sub"] == alice
    assert claims["client_id"] == app_client.client_id
    assert claims["aud"] == API
    assert claims["iat"] == login_time + 60
    assert claims["auth_time"] == login_time  # the login, not the refresh
    assert claims["amr"] == ["pwd"]


def test_issues_an_access_token_that_verifies_against_the_jwks(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    body = rotated(http, app_client, login(http, app_client)["refresh_token"])
    claims = verify_access_token(http, body["access_token"], API)
    assert claims["exp"] - claims["iat"] == body["expires_in"]


def test_keeps_rotating_along_a_chain(
    http: TestClient, app_client: Registered, alice: str, clock: FakeClock
) -> None:
    token = login(http, app_client)["refresh_token"]
    seen = {token}
    for _ in range(5):
        clock.advance(DAY)
        token = rotated(http, app_client, token)["refresh_token"]
        seen.add(token)
    assert len(seen) == 6


def test_rejects_a_repeated_refresh_token_parameter_without_consuming_it(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    token = login(http, app_client)["refresh_token"]
    response = refresh(http, app_client, token, refresh_token=[token, token])
    assert_error(response, 400, "invalid_request", "parameter refresh_token must not be repeated")
    rotated(http, app_client, token)


def test_rejects_another_clients_refresh_token_even_with_a_broader_scope(
    http: TestClient, app_client: Registered, other_app: Registered, alice: str
) -> None:
    # The answer must not depend on, or reveal, the scope of a session the client does not own.
    token = login(http, app_client, scope="read")["refresh_token"]
    for extra in ({"scope": "read admin"}, {"resource": OTHER}):
        response = refresh(http, other_app, token, **extra)
        assert_error(response, 400, "invalid_grant", "refresh token was issued to another client")
    rotated(http, app_client, token)
