"""The audit trail of self-service accounts (registration, verification, password reset and
change), and what a whole session leaves in it: never a password, a secret or a token."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from starlette.testclient import TestClient

from authority.events import EventType
from authority.runtime import Authority
from authority.settings import Settings
from tests.conftest import Registered
from tests.http.account_helpers import (
    NEW_PASSWORD,
    PASSWORD,
    bearer,
    confirm_reset,
    login,
    register,
    request_reset,
)
from tests.http.audit_helpers import of_type, one, trail
from tests.http.helpers import post_token
from tests.mailbox import Mailbox, token

CHANGED_PASSWORD = "an entirely different passphrase"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(registration="open")


def test_registering_and_verifying_the_address_are_rows_of_the_new_user(
    http: TestClient, authority: Authority, mailbox: Mailbox
) -> None:
    response = register(http, "bob", "bob@example.com")
    assert response.status_code == 201
    sub = response.json()["sub"]
    [message] = mailbox.messages()
    assert (
        http.post(
            "/accounts/verify-email", json={"token": token(message, "/accounts/verify-email")}
        ).status_code
        == 200
    )

    registered = one(authority, EventType.ACCOUNT_REGISTERED)
    verified = one(authority, EventType.EMAIL_VERIFIED)
    assert (registered.actor_kind, registered.actor, registered.subject) == ("user", sub, sub)
    assert registered.detail == {"username": "bob"}
    assert (verified.actor_kind, verified.subject) == ("user", sub)
    assert registered.ip == "testclient"


def test_a_registration_refused_for_a_taken_address_leaves_no_row_of_an_account(
    http: TestClient, authority: Authority, alice: str
) -> None:
    assert register(http, "bob", "alice@example.com").status_code == 201  # the same answer
    assert of_type(authority, EventType.ACCOUNT_REGISTERED) == []


def test_asking_for_a_reset_and_using_it_are_rows_of_the_account(
    http: TestClient, authority: Authority, alice: str, mailbox: Mailbox
) -> None:
    assert request_reset(http, "alice@example.com").status_code == 202
    assert request_reset(http, "nobody@example.com").status_code == 202  # no account: no row
    [message] = mailbox.messages()
    assert confirm_reset(http, token(message, "/accounts/password/reset")).status_code == 200

    requested = one(authority, EventType.PASSWORD_RESET_REQUESTED)
    done = one(authority, EventType.PASSWORD_RESET)
    assert (requested.actor_kind, requested.actor, requested.subject) == ("anonymous", None, alice)
    assert (done.actor_kind, done.actor, done.subject) == ("user", alice, alice)


def test_changing_the_password_is_a_row_naming_the_session_kept(
    http: TestClient, authority: Authority, app_client: Registered, alice: str
) -> None:
    login(http, app_client, PASSWORD)
    tokens = login(http, app_client, PASSWORD).json()
    data = {"current_password": PASSWORD, "new_password": CHANGED_PASSWORD}
    response = http.post(
        "/accounts/password/change", json=data, headers=bearer(tokens["access_token"])
    )
    assert response.status_code == 200, response.text

    changed = one(authority, EventType.PASSWORD_CHANGED)
    assert (changed.actor_kind, changed.actor, changed.subject) == ("user", alice, alice)
    assert changed.detail["sessions_ended"] == 1
    assert changed.detail["session_id"]


def test_no_row_of_a_whole_session_holds_a_password_a_secret_or_a_token(
    http: TestClient,
    authority: Authority,
    app_client: Registered,
    alice: str,
    mailbox: Mailbox,
) -> None:
    """Log in (and fail once), refresh, reuse, revoke, reset, change: every value a client
    or a user sent or got stays out of the trail."""
    secrets = {PASSWORD, NEW_PASSWORD, CHANGED_PASSWORD, app_client.secret, "wrong password!"}
    post_token(
        http,
        {"grant_type": "password", "username": "alice", "password": "wrong password!"},
        app_client,
    )
    first = login(http, app_client, PASSWORD).json()
    refreshed = post_token(
        http, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, app_client
    ).json()
    secrets |= {first["access_token"], first["refresh_token"], refreshed["refresh_token"]}
    secrets |= {refreshed["access_token"]}
    http.post("/revoke", data={"token": refreshed["refresh_token"]}, auth=app_client.basic)

    assert request_reset(http, "alice@example.com").status_code == 202
    [message] = mailbox.messages()
    reset_token = token(message, "/accounts/password/reset")
    secrets.add(reset_token)
    assert confirm_reset(http, reset_token).status_code == 200

    again = login(http, app_client, NEW_PASSWORD).json()
    secrets |= {again["access_token"], again["refresh_token"]}
    data = {"current_password": NEW_PASSWORD, "new_password": CHANGED_PASSWORD}
    headers = bearer(again["access_token"])
    assert http.post("/accounts/password/change", json=data, headers=headers).status_code == 200
    user = authority.storage.get_user(alice)
    assert user is not None
    # What storage keeps instead of them must not leak either.
    secrets |= {user.password_hash, authority.digest.digest(first["refresh_token"])}

    rows = trail(authority)
    assert {r.type for r in rows} >= {
        EventType.LOGIN_FAILED,
        EventType.LOGIN_SUCCEEDED,
        EventType.TOKEN_REVOKED,
        EventType.PASSWORD_RESET_REQUESTED,
        EventType.PASSWORD_RESET,
        EventType.PASSWORD_CHANGED,
    }
    written = [json.dumps(asdict(r)) for r in rows]
    for secret in secrets:
        # Each piece a token is made of, too: a JWT's signature, a refresh token's half.
        pieces = [secret, *(p for p in secret.split(".") if len(p) > 16)]
        for piece in pieces:
            assert not any(piece in row for row in written), piece[:12]
