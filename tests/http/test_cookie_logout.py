"""A cookie-mode app's logout: POST /logout and POST /revoke with the refresh cookie end its
session (its access tokens denied) and clear the cookie, under the cookie's CSRF rules; the
hosted sign-out page works as before in a browser that holds the cookie too."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.runtime import Authority
from authority.web.browser import COOKIE as BROWSER_COOKIE
from tests.conftest import Registered
from tests.http.account_helpers import assert_page
from tests.http.browser_helpers import sign_in
from tests.http.cookie_helpers import (
    DEAD,
    FOREIGN_ORIGIN,
    NO_CSRF,
    NO_ORIGIN,
    access_works,
    assert_cleared,
    assert_no_cookie,
    cookie_client,
    cookie_refresh,
    page_headers,
    signed_in,
)
from tests.http.helpers import assert_error
from tests.http.test_logout import csrf_token

OTHER_ORIGIN = "https://other.example"


@pytest.fixture
def spa(admin: Admin) -> Registered:
    return cookie_client(admin)


def still_signed_in(http: TestClient, client: Registered, cookie: str) -> None:
    """The cookie's session lives: a refresh from it succeeds."""
    response = cookie_refresh(http, client, page_headers(cookie))
    assert response.status_code == 200, response.text


def signed_out(http: TestClient, client: Registered, cookie: str, access: str) -> None:
    """The cookie's session has ended: no refresh, and its access token is denied."""
    assert_error(cookie_refresh(http, client, page_headers(cookie)), 400, "invalid_grant", DEAD)
    assert not access_works(http, access)


def logout(http: TestClient, headers: dict[str, str], **form: str) -> httpx2.Response:
    return http.post("/logout", data=form, headers=headers, follow_redirects=False)


def revoke(
    http: TestClient, client: Registered, headers: dict[str, str], **form: str
) -> httpx2.Response:
    data: dict[str, Any] = {**form, "client_id": client.client_id}
    return http.post("/revoke", data=data, headers=headers)


def assert_logged_out(response: httpx2.Response) -> None:
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert response.headers["cache-control"] == "no-store"
    assert_cleared(response)


# -- /logout -------------------------------------------------------------------------------


def test_logout_with_the_cookie_ends_its_session_and_clears_it(
    http: TestClient, spa: Registered, alice: str
) -> None:
    cookie, access = signed_in(http, spa)
    other_cookie, other_access = signed_in(http, spa)

    assert_logged_out(logout(http, page_headers(cookie)))

    signed_out(http, spa, cookie, access)
    assert access_works(http, other_access)
    still_signed_in(http, spa, other_cookie)


def test_logout_of_an_ended_session_or_without_a_cookie_still_clears_it(
    http: TestClient, spa: Registered, alice: str
) -> None:
    cookie, _ = signed_in(http, spa)
    assert_logged_out(logout(http, page_headers(cookie)))

    assert_logged_out(logout(http, page_headers(cookie)))
    assert_logged_out(logout(http, page_headers()))
    assert_logged_out(logout(http, page_headers("garbage value")))


@pytest.mark.parametrize(
    ("origin", "csrf", "description"),
    [
        ("http://localhost:5173", None, NO_CSRF),
        ("http://localhost:5173", "yes", NO_CSRF),
        (None, "1", NO_ORIGIN),
        ("https://evil.example", "1", FOREIGN_ORIGIN),
    ],
)
def test_logout_without_the_csrf_proof_is_refused_and_the_session_lives(
    http: TestClient,
    spa: Registered,
    alice: str,
    origin: str | None,
    csrf: str | None,
    description: str,
) -> None:
    cookie, access = signed_in(http, spa)

    response = logout(http, page_headers(cookie, origin=origin, csrf=csrf))

    assert_error(response, 400, "invalid_request", description)
    assert_no_cookie(response)
    assert access_works(http, access)
    still_signed_in(http, spa, cookie)


def test_logout_from_another_cookie_mode_clients_page_ends_nothing(
    http: TestClient, admin: Admin, spa: Registered, alice: str
) -> None:
    cookie_client(admin, "other", (OTHER_ORIGIN,))
    cookie, access = signed_in(http, spa)

    response = logout(http, page_headers(cookie, origin=OTHER_ORIGIN))

    assert_error(response, 400, "invalid_request", FOREIGN_ORIGIN)
    assert_no_cookie(response)
    assert access_works(http, access)


def test_without_a_cookie_only_a_cookie_mode_clients_page_may_clear_it(
    http: TestClient, admin: Admin, spa: Registered
) -> None:
    admin.create_client(
        "plain",
        ["authorization_code"],
        ["read"],
        None,
        [],
        redirect_uris=["https://plain.example/cb"],
        public=True,
        allowed_origins=[OTHER_ORIGIN],
    )

    response = logout(http, page_headers(origin=OTHER_ORIGIN))

    assert_error(response, 400, "invalid_request", FOREIGN_ORIGIN)
    assert_no_cookie(response)


def test_the_hosted_sign_out_page_still_works_in_a_browser_holding_the_cookie(
    http: TestClient, authority: Authority, spa: Registered, alice: str
) -> None:
    sign_in(http, authority, alice)
    cookie, access = signed_in(http, spa)
    both = f"{BROWSER_COOKIE}={http.cookies[BROWSER_COOKIE]}"
    headers = page_headers(cookie, origin=None, csrf=None, extra_cookies=both)

    page = http.get("/logout", headers=headers)
    form = {"csrf_token": csrf_token(page.text), "confirm": "yes"}
    response = logout(http, headers, **form)

    assert "You are signed out in this browser." in assert_page(response, 200)
    [cleared] = response.headers.get_list("set-cookie")
    assert cleared.startswith(f'{BROWSER_COOKIE}=""; expires=')
    assert authority.browser.list(alice, authority.now()) == []
    # The app signed in with its own form, not from this browser session: it stays.
    assert access_works(http, access)


def test_a_hosted_page_post_with_the_cookie_and_a_bad_form_token_ends_nothing(
    http: TestClient, authority: Authority, spa: Registered, alice: str
) -> None:
    browser = sign_in(http, authority, alice)
    cookie, access = signed_in(http, spa)
    both = f"{BROWSER_COOKIE}={http.cookies[BROWSER_COOKIE]}"
    headers = page_headers(cookie, origin=None, csrf=None, extra_cookies=both)

    response = logout(http, headers, csrf_token="forged", confirm="yes")

    assert response.status_code == 400
    assert authority.browser.list(alice, authority.now()) == [browser]
    assert access_works(http, access)


# -- /revoke -------------------------------------------------------------------------------


def test_revoke_with_the_cookie_and_no_token_ends_its_session(
    http: TestClient, spa: Registered, alice: str
) -> None:
    cookie, access = signed_in(http, spa)

    response = revoke(http, spa, page_headers(cookie))

    assert response.status_code == 200
    assert response.content == b""
    assert_cleared(response)
    signed_out(http, spa, cookie, access)


@pytest.mark.parametrize(
    ("origin", "csrf", "description"),
    [
        ("http://localhost:5173", None, NO_CSRF),
        (None, "1", NO_ORIGIN),
        ("https://evil.example", "1", FOREIGN_ORIGIN),
    ],
)
def test_revoke_with_the_cookie_without_the_csrf_proof_is_refused(
    http: TestClient,
    spa: Registered,
    alice: str,
    origin: str | None,
    csrf: str | None,
    description: str,
) -> None:
    cookie, access = signed_in(http, spa)

    response = revoke(http, spa, page_headers(cookie, origin=origin, csrf=csrf))

    assert_error(response, 400, "invalid_request", description)
    assert_no_cookie(response)
    assert access_works(http, access)
    still_signed_in(http, spa, cookie)


def test_revoke_with_a_garbage_cookie_answers_200_and_clears_it(
    http: TestClient, spa: Registered, alice: str
) -> None:
    _, access = signed_in(http, spa)

    response = revoke(http, spa, page_headers("x" * 3000))

    assert response.status_code == 200
    assert_cleared(response)
    assert access_works(http, access)


def test_revoke_without_cookie_or_token_is_invalid_request(
    http: TestClient, spa: Registered
) -> None:
    response = revoke(http, spa, page_headers())

    assert_error(response, 400, "invalid_request", "missing parameter: token")


def test_revoking_an_access_token_by_name_keeps_the_cookie(
    http: TestClient, spa: Registered, alice: str
) -> None:
    cookie, access = signed_in(http, spa)

    response = revoke(http, spa, page_headers(cookie), token=access)

    assert response.status_code == 200
    assert_no_cookie(response)
    assert not access_works(http, access)
    still_signed_in(http, spa, cookie)
