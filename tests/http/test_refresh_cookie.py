"""Cookie mode at /token: a browser app's refresh token travels only in the httpOnly
``__Host-authority_rt`` cookie, each request from an allowed origin with the CSRF header."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.runtime import Authority
from authority.web.app import create_app
from tests.conftest import ISSUER, FakeClock, Registered
from tests.http.cookie_helpers import (
    DEAD,
    FOREIGN_ORIGIN,
    NO_CSRF,
    NO_ORIGIN,
    REUSED,
    SPA_ORIGIN,
    access_works,
    assert_cleared,
    assert_no_cookie,
    cookie_client,
    cookie_refresh,
    cookie_set,
    page_headers,
    password_login,
    signed_in,
)
from tests.http.helpers import assert_error, assert_token_response, post_token

BOTH = "send the refresh token in the cookie or as refresh_token, not both"
NO_COOKIE = "missing parameter: refresh_token (and no refresh cookie: sign in again)"
OTHER_CLIENT = "refresh token was issued to another client"


@pytest.fixture
def spa(admin: Admin) -> Registered:
    return cookie_client(admin)


def logged_in(http: TestClient, client: Registered) -> str:
    """A password login from the app's page; the refresh cookie it set."""
    return signed_in(http, client)[0]


def rotate(http: TestClient, client: Registered, cookie: str) -> str:
    """A refresh from the cookie that succeeds; the cookie that replaces it."""
    response = cookie_refresh(http, client, page_headers(cookie))
    body = assert_token_response(response, refresh=False)
    assert body["expires_in"] == 900
    successor = cookie_set(response)
    assert successor != cookie
    return successor


# -- the cookie --------------------------------------------------------------------------------


def test_a_password_login_sets_the_cookie_and_keeps_the_refresh_token_out_of_the_body(
    http: TestClient, spa: Registered, alice: str
) -> None:
    response = password_login(http, spa)

    body = assert_token_response(response, refresh=False)
    assert "refresh_token" not in body
    assert body["expires_in"] == 900 and body["access_token"]
    cookie = cookie_set(response)
    assert cookie not in response.text
    assert access_works(http, body["access_token"])


def test_under_a_path_prefix_the_cookie_is_secure_prefixed_and_scoped_to_that_path(
    authority: Authority, spa: Registered, alice: str, clock: FakeClock
) -> None:
    settings = authority.settings.replace(issuer=ISSUER + "/auth")
    prefixed = Authority(settings, authority.storage, clock=clock)
    with TestClient(create_app(authority=prefixed), base_url=ISSUER) as http:
        response = password_login(http, spa)
        cookie = cookie_set(response, name="__Secure-authority_rt", path="/auth")

        refreshed = cookie_refresh(http, spa, page_headers(cookie, name="__Secure-authority_rt"))
        assert_token_response(refreshed, refresh=False)
        cookie_set(refreshed, name="__Secure-authority_rt", path="/auth")
        # The root path's name is not this issuer's cookie.
        assert_error(
            cookie_refresh(http, spa, page_headers(cookie)), 400, "invalid_request", NO_COOKIE
        )


def test_a_client_without_cookie_mode_gets_its_refresh_token_in_the_body(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    data = {"grant_type": "password", "username": "alice", "password": "correct horse battery"}
    response = post_token(http, data, app_client, headers=page_headers())

    body = assert_token_response(response, refresh=True)
    assert_no_cookie(response)
    again = post_token(
        http, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}, app_client
    )
    assert_token_response(again, refresh=True)
    assert_no_cookie(again)


# -- refresh -------------------------------------------------------------------------------


def test_a_refresh_from_the_cookie_rotates_it(
    http: TestClient, spa: Registered, alice: str
) -> None:
    first = logged_in(http, spa)
    second = rotate(http, spa, first)
    third = rotate(http, spa, second)

    assert len({first, second, third}) == 3


def test_a_reused_cookie_revokes_the_family_and_is_cleared(
    http: TestClient, spa: Registered, alice: str
) -> None:
    first = logged_in(http, spa)
    second = rotate(http, spa, first)
    response = cookie_refresh(http, spa, page_headers(second))
    access = response.json()["access_token"]
    third = cookie_set(response)

    # ``first``'s successor was used: a replay, not a retry.
    reused = cookie_refresh(http, spa, page_headers(first))

    assert_error(reused, 400, "invalid_grant", REUSED)
    assert_cleared(reused)
    assert not access_works(http, access)
    dead = cookie_refresh(http, spa, page_headers(third))
    assert_error(dead, 400, "invalid_grant", DEAD)
    assert_cleared(dead)


def test_with_no_retry_window_the_first_replay_is_a_reuse(
    authority: Authority, spa: Registered, alice: str, clock: FakeClock
) -> None:
    strict = Authority(
        authority.settings.replace(refresh_reuse_window=0), authority.storage, clock=clock
    )
    with TestClient(create_app(authority=strict), base_url=ISSUER) as http:
        first = logged_in(http, spa)
        response = cookie_refresh(http, spa, page_headers(first))
        second, access = cookie_set(response), response.json()["access_token"]

        reused = cookie_refresh(http, spa, page_headers(first))

        assert_error(reused, 400, "invalid_grant", REUSED)
        assert_cleared(reused)
        assert not access_works(http, access)
        assert_error(cookie_refresh(http, spa, page_headers(second)), 400, "invalid_grant", DEAD)


def test_a_retry_inside_the_window_keeps_the_session(
    http: TestClient, spa: Registered, alice: str
) -> None:
    first = logged_in(http, spa)
    rotate(http, spa, first)  # its answer never reached the page

    retried = rotate(http, spa, first)

    rotate(http, spa, retried)


def test_an_expired_cookie_is_refused_and_cleared(
    http: TestClient, spa: Registered, alice: str, clock: FakeClock
) -> None:
    cookie = logged_in(http, spa)
    clock.advance(30 * 24 * 3600 + 1)

    response = cookie_refresh(http, spa, page_headers(cookie))

    assert_error(response, 400, "invalid_grant", DEAD)
    assert_cleared(response)


# -- refused, nothing changed ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "csrf", "description"),
    [
        (None, "1", NO_ORIGIN),
        ("https://evil.example", "1", FOREIGN_ORIGIN),
        ("http://localhost:5174", "1", FOREIGN_ORIGIN),
        ("null", "1", FOREIGN_ORIGIN),
        (SPA_ORIGIN, None, NO_CSRF),
        (SPA_ORIGIN, "0", NO_CSRF),
        (SPA_ORIGIN, "true", NO_CSRF),
    ],
)
def test_a_refresh_without_the_csrf_proof_is_refused_and_the_session_lives(
    http: TestClient,
    spa: Registered,
    alice: str,
    origin: str | None,
    csrf: str | None,
    description: str,
) -> None:
    cookie = logged_in(http, spa)

    response = cookie_refresh(http, spa, page_headers(cookie, origin=origin, csrf=csrf))

    assert_error(response, 400, "invalid_request", description)
    assert_no_cookie(response)
    rotate(http, spa, cookie)


@pytest.mark.parametrize(
    ("headers", "description"),
    [
        ({"Origin": ""}, FOREIGN_ORIGIN),
        ({"Origin": "https://evil.example"}, FOREIGN_ORIGIN),
        ({"X-Authority-CSRF": ""}, NO_CSRF),
    ],
)
def test_a_password_login_without_the_csrf_proof_is_refused(
    http: TestClient, spa: Registered, alice: str, headers: dict[str, str], description: str
) -> None:
    response = password_login(http, spa, **headers)

    assert_error(response, 400, "invalid_request", description)
    assert_no_cookie(response)


def test_a_cookie_and_a_refresh_token_in_the_body_are_refused(
    http: TestClient, spa: Registered, alice: str
) -> None:
    cookie = logged_in(http, spa)

    response = cookie_refresh(http, spa, page_headers(cookie), refresh_token=cookie)

    assert_error(response, 400, "invalid_request", BOTH)
    assert_no_cookie(response)
    rotate(http, spa, cookie)


def test_a_refresh_with_neither_cookie_nor_token_is_refused(
    http: TestClient, spa: Registered, alice: str
) -> None:
    response = cookie_refresh(http, spa, page_headers())

    assert_error(response, 400, "invalid_request", NO_COOKIE)
    assert_no_cookie(response)


def test_another_cookie_mode_clients_cookie_is_refused_kept_and_its_session_lives(
    http: TestClient, admin: Admin, spa: Registered, alice: str
) -> None:
    other = cookie_client(admin, "other", ("http://localhost:5173", "https://other.example"))
    cookie = logged_in(http, spa)

    response = cookie_refresh(http, other, page_headers(cookie))

    assert_error(response, 400, "invalid_grant", OTHER_CLIENT)
    assert_no_cookie(response)
    rotate(http, spa, cookie)


@pytest.mark.parametrize(
    "value",
    [
        "tampered",
        "x" * 512,
        "not a token",
        "%00",
        '"quoted"',
        "x" * 513,
        "x" * 3000,
    ],
)
def test_a_garbage_cookie_is_invalid_grant_and_cleared(
    http: TestClient, spa: Registered, alice: str, value: str
) -> None:
    response = cookie_refresh(http, spa, page_headers(value))

    assert_error(response, 400, "invalid_grant", DEAD)
    assert_cleared(response)


def test_a_tampered_cookie_is_refused_and_the_real_one_still_works(
    http: TestClient, spa: Registered, alice: str
) -> None:
    cookie = logged_in(http, spa)
    tampered = cookie[:-1] + ("A" if cookie[-1] != "A" else "B")

    response = cookie_refresh(http, spa, page_headers(tampered))

    assert_error(response, 400, "invalid_grant", DEAD)
    assert_cleared(response)
    rotate(http, spa, cookie)


# -- a confidential cookie-mode client ----------------------------------------------------------


def test_a_confidential_cookie_mode_client_authenticates_and_uses_the_cookie(
    http: TestClient, admin: Admin, alice: str
) -> None:
    bff = cookie_client(admin, "bff", public=False)
    assert bff.secret
    cookie = logged_in(http, bff)

    rotated = rotate(http, bff, cookie)

    wrong = Registered(bff.client_id, "wrong-secret")
    response = cookie_refresh(http, wrong, page_headers(rotated))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert_no_cookie(response)
    rotate(http, bff, rotated)
