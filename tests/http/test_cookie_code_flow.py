"""A single-page app that signs in on the hosted pages (authorization code + PKCE) in cookie
mode: the code's exchange sets the refresh cookie, under the same CSRF rules as a refresh."""

from __future__ import annotations

import httpx2
import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.storage import Client
from tests.conftest import Registered
from tests.http.authorize_helpers import (
    REDIRECT_URI,
    VERIFIER,
    log_in,
    redirect_query,
    request_params,
)
from tests.http.cookie_helpers import (
    NO_CSRF,
    SPA_ORIGIN,
    cookie_refresh,
    cookie_set,
    page_headers,
)
from tests.http.helpers import assert_error


@pytest.fixture
def spa(admin: Admin) -> Client:
    client, _ = admin.create_client(
        "spa-sso",
        ["authorization_code", "refresh_token"],
        ["openid", "read"],
        None,
        ["https://api.example"],
        redirect_uris=[REDIRECT_URI],
        public=True,
        refresh_cookie=True,
        allowed_origins=[SPA_ORIGIN],
    )
    return client


def exchange(
    http: TestClient, client: Client, code: str, headers: dict[str, str]
) -> httpx2.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": VERIFIER,
        "client_id": client.client_id,
    }
    return http.post("/token", data=form, headers=headers)


def test_the_code_exchange_sets_the_cookie_and_the_cookie_refreshes(
    http: TestClient, spa: Client, alice: str
) -> None:
    code = redirect_query(log_in(http, request_params(spa)))["code"]

    answer = exchange(http, spa, code, page_headers())

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "refresh_token" not in body
    assert {"access_token", "expires_in", "id_token"} <= set(body)
    cookie = cookie_set(answer)
    refreshed = cookie_refresh(http, Registered(spa.client_id, ""), page_headers(cookie))
    assert refreshed.status_code == 200, refreshed.text
    assert cookie_set(refreshed) != cookie


def test_an_exchange_without_the_csrf_header_is_refused_and_spends_no_code(
    http: TestClient, spa: Client, alice: str
) -> None:
    code = redirect_query(log_in(http, request_params(spa)))["code"]

    refused = exchange(http, spa, code, page_headers(csrf=None))

    assert_error(refused, 400, "invalid_request", NO_CSRF)
    assert refused.headers.get_list("set-cookie") == []
    answer = exchange(http, spa, code, page_headers())
    assert answer.status_code == 200, answer.text
    cookie_set(answer)
