"""A cookie-mode app's page lists and ends its user's sessions with the refresh cookie instead
of a bearer token (GET /sessions, DELETE /sessions, DELETE /sessions/{id}), under the cookie's
CSRF rules; the cookie is cleared when its own session ends."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.runtime import Authority
from tests.conftest import Registered
from tests.http.cookie_helpers import (
    FOREIGN_ORIGIN,
    NO_CSRF,
    NO_ORIGIN,
    access_works,
    assert_cleared,
    assert_no_cookie,
    bearer,
    cookie_client,
    cookie_refresh,
    page_headers,
    signed_in,
)
from tests.http.helpers import assert_error, assert_no_store

ENDED = "the refresh cookie's session has ended: sign in again"


@pytest.fixture
def spa(admin: Admin) -> Registered:
    return cookie_client(admin)


def listed(http: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = http.get("/sessions", headers=headers)
    assert response.status_code == 200, response.text
    assert_no_store(response)
    assert_no_cookie(response)
    sessions: list[dict[str, Any]] = response.json()["sessions"]
    return sessions


def current_id(http: TestClient, cookie: str) -> str:
    [current] = [s["id"] for s in listed(http, page_headers(cookie)) if s["current"]]
    return str(current)


def refreshes(http: TestClient, client: Registered, cookie: str) -> bool:
    response = cookie_refresh(http, client, page_headers(cookie))
    assert response.status_code in (200, 400), response.text
    return response.status_code == 200


def assert_invalid_cookie(response: httpx2.Response, description: str) -> None:
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token", "error_description": description}
    assert response.headers["www-authenticate"].startswith('Bearer realm="authority"')
    assert_no_cookie(response)


# -- refused -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "csrf", "description"),
    [
        ("http://localhost:5173", None, NO_CSRF),
        (None, "1", NO_ORIGIN),
        ("https://evil.example", "1", FOREIGN_ORIGIN),
    ],
)
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_the_cookie_without_the_csrf_proof_is_refused_and_ends_nothing(
    http: TestClient,
    spa: Registered,
    alice: str,
    origin: str | None,
    csrf: str | None,
    description: str,
    method: str,
) -> None:
    cookie, access = signed_in(http, spa)

    response = http.request(
        method, "/sessions", headers=page_headers(cookie, origin=origin, csrf=csrf)
    )

    assert_error(response, 400, "invalid_request", description)
    assert_no_cookie(response)
    assert access_works(http, access)
    assert refreshes(http, spa, cookie)


def test_the_cookie_of_a_page_of_another_cookie_mode_client_is_refused(
    http: TestClient, admin: Admin, spa: Registered, alice: str
) -> None:
    cookie_client(admin, "other", ("https://other.example",))
    cookie, access = signed_in(http, spa)

    response = http.delete(
        "/sessions", headers=page_headers(cookie, origin="https://other.example")
    )

    assert_error(response, 400, "invalid_request", FOREIGN_ORIGIN)
    assert access_works(http, access)


@pytest.mark.parametrize("value", ["unknown-token", "not a token", "x" * 3000])
def test_a_cookie_no_session_knows_is_an_invalid_token(
    http: TestClient, spa: Registered, value: str
) -> None:
    assert_invalid_cookie(http.get("/sessions", headers=page_headers(value)), ENDED)


def test_the_cookie_of_an_ended_session_is_an_invalid_token(
    http: TestClient, spa: Registered, alice: str
) -> None:
    cookie, access = signed_in(http, spa)
    assert http.delete("/sessions", headers=bearer(access)).status_code == 204

    assert_invalid_cookie(http.get("/sessions", headers=page_headers(cookie)), ENDED)


def test_the_cookie_of_a_disabled_user_is_an_invalid_token(
    http: TestClient, authority: Authority, spa: Registered, alice: str
) -> None:
    cookie, _ = signed_in(http, spa)
    assert authority.storage.set_user_disabled(alice, True, authority.now())

    assert_invalid_cookie(http.get("/sessions", headers=page_headers(cookie)), ENDED)


# -- list and end ----------------------------------------------------------------------------


def test_the_cookie_lists_the_users_sessions_and_marks_its_own(
    http: TestClient, spa: Registered, alice: str
) -> None:
    cookie, _ = signed_in(http, spa)
    signed_in(http, spa)

    sessions = listed(http, page_headers(cookie))

    assert len(sessions) == 2
    assert [s["current"] for s in sessions].count(True) == 1
    assert {s["client_id"] for s in sessions} == {spa.client_id}


def test_ending_the_cookies_own_session_clears_the_cookie(
    http: TestClient, spa: Registered, alice: str
) -> None:
    cookie, access = signed_in(http, spa)
    other_cookie, other_access = signed_in(http, spa)

    response = http.delete(f"/sessions/{current_id(http, cookie)}", headers=page_headers(cookie))

    assert response.status_code == 204
    assert_cleared(response)
    assert not refreshes(http, spa, cookie)
    assert not access_works(http, access)
    assert access_works(http, other_access)
    assert refreshes(http, spa, other_cookie)


def test_ending_another_session_keeps_the_cookie(
    http: TestClient, spa: Registered, alice: str
) -> None:
    cookie, access = signed_in(http, spa)
    other_cookie, other_access = signed_in(http, spa)
    other_id = current_id(http, other_cookie)

    response = http.delete(f"/sessions/{other_id}", headers=page_headers(cookie))

    assert response.status_code == 204
    assert_no_cookie(response)
    assert not access_works(http, other_access)
    assert access_works(http, access)
    again = http.delete(f"/sessions/{other_id}", headers=page_headers(cookie))
    assert again.status_code == 404
    assert_no_cookie(again)


def test_log_out_everywhere_with_the_cookie_ends_every_session_and_clears_it(
    http: TestClient, spa: Registered, alice: str
) -> None:
    cookie, access = signed_in(http, spa)
    other_cookie, other_access = signed_in(http, spa)

    response = http.delete("/sessions", headers=page_headers(cookie))

    assert response.status_code == 204
    assert_cleared(response)
    assert not any(access_works(http, a) for a in (access, other_access))
    assert not any(refreshes(http, spa, c) for c in (cookie, other_cookie))


def test_a_bearer_token_still_works_beside_the_cookie_and_needs_no_csrf_header(
    http: TestClient, spa: Registered, alice: str
) -> None:
    cookie, access = signed_in(http, spa)
    headers = {**page_headers(cookie, origin=None, csrf=None), **bearer(access)}

    assert len(listed(http, headers)) == 1
    response = http.delete(f"/sessions/{current_id(http, cookie)}", headers=headers)

    # The bearer token ended the session: the cookie is not what authenticated the request.
    assert response.status_code == 204
    assert_no_cookie(response)
    assert not refreshes(http, spa, cookie)


def test_a_bad_bearer_token_is_not_rescued_by_the_cookie(
    http: TestClient, spa: Registered, alice: str
) -> None:
    cookie, _ = signed_in(http, spa)
    headers = {**page_headers(cookie), **bearer("garbage")}

    response = http.get("/sessions", headers=headers)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
