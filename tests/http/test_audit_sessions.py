"""The audit trail of signing in and out: logins, refresh reuse, revoked sessions and tokens,
logout and logout everywhere, each one row naming who, whom, which client and from where."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.events import EventType
from authority.runtime import Authority
from authority.settings import Settings
from tests.conftest import FakeClock, Registered
from tests.http.account_helpers import PASSWORD, bearer, login
from tests.http.audit_helpers import of_type, one, trail
from tests.http.browser_helpers import sign_in
from tests.http.cookie_helpers import cookie_client, page_headers, signed_in
from tests.http.helpers import post_token
from tests.http.test_grant_authorization_code import _client, exchange, issue_code
from tests.http.test_logout import confirm

LOGIN = {"grant_type": "password", "username": "alice", "password": PASSWORD}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(login_max_failures=2)


@pytest.fixture
def web(authority: Authority) -> Registered:
    """A confidential client of the code flow."""
    return _client(authority)


def refresh(http: TestClient, client: Registered, token: str) -> int:
    data = {"grant_type": "refresh_token", "refresh_token": token}
    return post_token(http, data, client).status_code


# -- logins -----------------------------------------------------------------------------


def test_a_login_is_a_row_with_the_user_the_client_and_the_request(
    http: TestClient, authority: Authority, app_client: Registered, alice: str
) -> None:
    headers = {"X-Request-ID": "req-42", "User-Agent": "probe/2"}
    assert post_token(http, LOGIN, app_client, headers=headers).status_code == 200

    record = one(authority, EventType.LOGIN_SUCCEEDED)
    assert (record.actor_kind, record.actor, record.subject) == ("user", alice, alice)
    assert record.client_id == app_client.client_id
    assert (record.request_id, record.ip, record.user_agent) == ("req-42", "testclient", "probe/2")
    assert record.detail == {"way": "password grant"}
    assert record.id is not None and record.at > 0


def test_a_failed_login_and_a_lockout_are_rows_naming_the_username(
    http: TestClient, authority: Authority, app_client: Registered, alice: str
) -> None:
    wrong = {**LOGIN, "password": "not the password"}
    for _ in range(3):  # two failures, then the lockout
        assert post_token(http, wrong, app_client).status_code == 400

    failed = of_type(authority, EventType.LOGIN_FAILED)
    locked = one(authority, EventType.LOGIN_LOCKED)
    assert [(r.actor_kind, r.actor, r.subject) for r in failed] == [
        ("client", app_client.client_id, alice)
    ] * 2
    assert failed[0].detail == {"username": "alice", "way": "password grant"}
    assert locked.detail == {"username": "alice", "way": "password grant"}
    assert locked.client_id == app_client.client_id


# -- refresh reuse and revoked sessions -------------------------------------------------


def test_a_reused_refresh_token_is_a_reuse_and_a_revoked_session(
    http: TestClient,
    authority: Authority,
    app_client: Registered,
    alice: str,
    clock: FakeClock,
) -> None:
    first = post_token(http, LOGIN, app_client).json()
    assert refresh(http, app_client, first["refresh_token"]) == 200
    clock.advance(authority.settings.refresh_reuse_window + 1)  # past the retry window

    assert refresh(http, app_client, first["refresh_token"]) == 400

    reused = one(authority, EventType.REFRESH_REUSED)
    revoked = one(authority, EventType.SESSION_REVOKED)
    for record in (reused, revoked):
        assert (record.actor_kind, record.actor) == ("client", app_client.client_id)
        assert record.subject == alice
        assert record.detail["session_id"] == revoked.detail["session_id"]
    assert revoked.detail["reason"] == "refresh token reuse"


def test_a_replayed_authorization_code_revokes_its_session_on_the_record(
    http: TestClient, authority: Authority, web: Registered, alice: str
) -> None:
    issued = issue_code(authority, web, alice)
    assert exchange(http, web, issued.code).status_code == 200
    assert exchange(http, web, issued.code).status_code == 400

    revoked = one(authority, EventType.SESSION_REVOKED)
    assert (revoked.actor_kind, revoked.actor) == ("client", web.client_id)
    assert revoked.detail["reason"] == "authorization code replay"
    assert revoked.detail["session_id"]


# -- revocation (RFC 7009) --------------------------------------------------------------


def test_revoking_an_access_token_names_its_jti_and_a_refresh_token_its_session(
    http: TestClient, authority: Authority, app_client: Registered, alice: str
) -> None:
    tokens = post_token(http, LOGIN, app_client).json()
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert http.post("/revoke", data={"token": token}, auth=app_client.basic).status_code == 200
    # Unknown tokens are answered the same and leave no row.
    http.post("/revoke", data={"token": "nothing of ours"}, auth=app_client.basic)

    access, refresh_token = of_type(authority, EventType.TOKEN_REVOKED)
    assert access.detail["token_type"] == "access_token"
    assert access.detail["jti"]
    assert refresh_token.detail["token_type"] == "refresh_token"
    assert refresh_token.detail["session_id"]
    for record in (access, refresh_token):
        assert (record.actor_kind, record.actor, record.subject) == (
            "client",
            app_client.client_id,
            alice,
        )


# -- logout and logout everywhere ---------------------------------------------------------


def test_signing_a_browser_out_is_a_logout(
    http: TestClient, authority: Authority, alice: str
) -> None:
    session = sign_in(http, authority, alice)
    assert confirm(http, {}).status_code == 200

    record = one(authority, EventType.LOGOUT)
    assert (record.actor_kind, record.actor, record.subject) == ("user", alice, alice)
    assert record.detail == {"session_id": session.session_id, "way": "logout page"}


def test_a_cookie_mode_logout_is_a_logout_of_its_client(
    http: TestClient, authority: Authority, admin: Admin, alice: str
) -> None:
    spa = cookie_client(admin)
    cookie, _ = signed_in(http, spa)
    assert http.post("/logout", headers=page_headers(cookie)).status_code == 204

    record = one(authority, EventType.LOGOUT)
    assert (record.subject, record.client_id) == (alice, spa.client_id)
    assert record.detail["way"] == "refresh cookie"


def test_ending_one_session_is_a_logout_and_ending_all_is_logout_everywhere(
    http: TestClient, authority: Authority, app_client: Registered, alice: str
) -> None:
    one_session = login(http, app_client, PASSWORD).json()
    other = login(http, app_client, PASSWORD).json()
    listed = http.get("/sessions", headers=bearer(other["access_token"])).json()["sessions"]
    ended = next(s["id"] for s in listed if not s["current"])
    assert http.delete(f"/sessions/{ended}", headers=bearer(other["access_token"])).status_code
    assert http.delete("/sessions/nope", headers=bearer(other["access_token"])).status_code == 404
    assert http.delete("/sessions", headers=bearer(other["access_token"])).status_code == 204
    assert one_session

    logout = one(authority, EventType.LOGOUT)
    everywhere = one(authority, EventType.LOGOUT_EVERYWHERE)
    assert logout.detail == {"session_id": ended, "way": "sessions endpoint"}
    assert everywhere.detail == {"ended": 1}
    for record in (logout, everywhere):
        assert (record.actor_kind, record.actor, record.subject) == ("user", alice, alice)
        assert record.client_id == app_client.client_id


def test_only_what_happened_is_recorded(
    http: TestClient, authority: Authority, service_client: Registered
) -> None:
    """Token responses are left to the metrics unless asked for (see test_audit_writer)."""
    data = {"grant_type": "client_credentials"}
    assert post_token(http, data, service_client).status_code == 200
    assert http.get("/healthz").status_code == 200
    assert [r.type for r in trail(authority)] == []
