"""POST /accounts/password/change: a signed-in user, the current password, a new one."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.settings import Settings
from tests.conftest import Registered
from tests.http.account_helpers import (
    INVALID_LINK,
    NEW_PASSWORD,
    PASSWORD,
    assert_json,
    bearer,
    confirm_reset,
    login,
    request_reset,
)
from tests.http.helpers import assert_error, assert_no_store, post_token
from tests.mailbox import Mailbox, token

PATH = "/accounts/password/change"
WRONG = (400, "invalid_password", "the current password is wrong")
BAD_LOGIN = ("invalid_grant", "invalid username or password")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(login_max_failures=3)


def signed_in(http: TestClient, client: Registered) -> dict[str, Any]:
    response = login(http, client, PASSWORD)
    assert response.status_code == 200, response.text
    return dict(response.json())


def change(
    http: TestClient, access_token: str, current: str = PASSWORD, new: str = NEW_PASSWORD
) -> httpx2.Response:
    data = {"current_password": current, "new_password": new}
    return http.post(PATH, json=data, headers=bearer(access_token))


def refreshes(http: TestClient, client: Registered, session: dict[str, Any]) -> bool:
    data = {"grant_type": "refresh_token", "refresh_token": session["refresh_token"]}
    return post_token(http, data, client).status_code == 200


def test_without_an_access_token_the_answer_is_a_bearer_challenge(http: TestClient) -> None:
    response = http.post(PATH, json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token"}
    assert response.headers["www-authenticate"] == 'Bearer realm="authority"'
    assert_no_store(response)


def test_a_token_meant_for_another_audience_is_refused(
    http: TestClient, alice: str, app_client: Registered
) -> None:
    data = {"grant_type": "password", "username": "alice", "password": PASSWORD}
    api_token = post_token(http, data, app_client).json()["access_token"]

    response = change(http, api_token)

    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "the access token is not meant for this server",
    }
    assert login(http, app_client, PASSWORD).status_code == 200  # unchanged


def test_a_wrong_current_password_is_refused_and_counted(
    http: TestClient, alice: str, app_client: Registered
) -> None:
    session = signed_in(http, app_client)

    for _ in range(3):
        assert_error(change(http, session["access_token"], current="not it at all"), *WRONG)
    # Locked like a login: the right password gets the same answer, and so does /token.
    assert_error(change(http, session["access_token"]), *WRONG)
    assert_error(login(http, app_client, PASSWORD), 400, *BAD_LOGIN)
    assert refreshes(http, app_client, session)  # no session was touched


def test_a_change_keeps_this_session_and_ends_every_other(
    http: TestClient, alice: str, app_client: Registered
) -> None:
    other = signed_in(http, app_client)
    this = signed_in(http, app_client)

    response = change(http, this["access_token"])

    assert_json(response, 200, {"status": "password_changed", "sessions_ended": 1})
    assert refreshes(http, app_client, this)
    assert not refreshes(http, app_client, other)
    introspected = http.post(
        "/introspect", data={"token": other["access_token"]}, auth=app_client.basic
    )
    assert introspected.json() == {"active": False}
    assert_error(login(http, app_client, PASSWORD), 400, *BAD_LOGIN)
    assert login(http, app_client, NEW_PASSWORD).status_code == 200


def test_a_token_without_a_session_ends_every_session(
    http: TestClient, alice: str, app_client: Registered, admin: Admin
) -> None:
    session = signed_in(http, app_client)
    client, secret = admin.create_client("no-refresh", ["password"], ["read"], None, [])
    sessionless = signed_in(http, Registered(client.client_id, secret))
    assert "refresh_token" not in sessionless

    assert_json(
        change(http, sessionless["access_token"]),
        200,
        {"status": "password_changed", "sessions_ended": 1},
    )
    assert not refreshes(http, app_client, session)


@pytest.mark.parametrize(
    ("new", "description"),
    [
        (PASSWORD, "the new password must differ from the current one"),
        ("short", "a password needs at least 10 characters"),
        ("alice@example.com", "the password is too close to the username or email address"),
    ],
)
def test_a_weak_new_password_is_refused(
    http: TestClient, alice: str, app_client: Registered, new: str, description: str
) -> None:
    session = signed_in(http, app_client)

    assert_error(change(http, session["access_token"], new=new), 400, "weak_password", description)
    assert login(http, app_client, PASSWORD).status_code == 200


@pytest.mark.parametrize("missing", ["current_password", "new_password"])
def test_a_missing_field_is_an_invalid_request(
    http: TestClient, alice: str, app_client: Registered, missing: str
) -> None:
    session = signed_in(http, app_client)
    data = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    del data[missing]

    response = http.post(PATH, data=data, headers=bearer(session["access_token"]))

    assert_error(response, 400, "invalid_request", f"missing parameter: {missing}")


def test_a_change_voids_a_pending_reset_link(
    http: TestClient, alice: str, app_client: Registered, mailbox: Mailbox
) -> None:
    request_reset(http, "alice@example.com")
    link_token = token(mailbox.messages()[-1], "/accounts/password/reset")
    session = signed_in(http, app_client)

    assert change(http, session["access_token"]).status_code == 200

    assert_error(confirm_reset(http, link_token, "a thief's new password"), *INVALID_LINK)
