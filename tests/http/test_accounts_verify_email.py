"""Email verification by link: GET shows a page and changes nothing; POST uses the link once."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from authority.runtime import Authority
from authority.settings import Settings
from tests.conftest import FakeClock, Registered
from tests.http.account_helpers import (
    HTML,
    INVALID_LINK,
    NEW_PASSWORD,
    assert_json,
    assert_page,
    register,
)
from tests.http.helpers import assert_error, post_token
from tests.mailbox import Mailbox, token

PATH = "/accounts/verify-email"
VERIFIED = {"status": "email_verified"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(registration="open", require_verified_email=True)


@pytest.fixture
def bob(http: TestClient, mailbox: Mailbox) -> tuple[str, str]:
    """A freshly registered user bob: his sub and the token of his verification link."""
    response = register(http, "bob", "bob@example.com")
    assert response.status_code == 201
    [message] = mailbox.messages()
    return response.json()["sub"], token(message, PATH)


def verified(authority: Authority, sub: str) -> bool:
    user = authority.storage.get_user(sub)
    assert user is not None
    return user.email_verified


def test_opening_the_link_shows_a_form_and_verifies_nothing(
    http: TestClient, authority: Authority, bob: tuple[str, str]
) -> None:
    sub, link_token = bob

    page = assert_page(http.get(PATH, params={"token": link_token}), 200)

    assert '<form method="post" action="verify-email"' in page
    assert f'<input type="hidden" name="token" value="{link_token}">' in page
    assert not verified(authority, sub)


@pytest.mark.parametrize("query", [{}, {"token": "nope"}, {"token": ["a", "b"]}])
def test_a_bad_link_opens_an_error_page(
    http: TestClient, query: dict[str, str | list[str]]
) -> None:
    page = assert_page(http.get(PATH, params=query), 400)

    assert "this link is invalid, has expired or was already used" in page


def test_posting_the_token_verifies_the_address_once(
    http: TestClient, authority: Authority, bob: tuple[str, str]
) -> None:
    sub, link_token = bob

    assert_json(http.post(PATH, json={"token": link_token}), 200, VERIFIED)
    assert verified(authority, sub)

    assert_error(http.post(PATH, json={"token": link_token}), *INVALID_LINK)
    page = assert_page(http.get(PATH, params={"token": link_token}), 400)
    assert "was already used" in page


def test_the_form_of_the_page_gets_a_page_back(
    http: TestClient, authority: Authority, bob: tuple[str, str]
) -> None:
    sub, link_token = bob

    page = assert_page(http.post(PATH, data={"token": link_token}, headers=HTML), 200)

    assert "Email address confirmed" in page
    assert verified(authority, sub)
    again = assert_page(http.post(PATH, data={"token": link_token}, headers=HTML), 400)
    assert "was already used" in again


def test_a_form_posted_by_a_script_that_asks_for_json_gets_json(
    http: TestClient, bob: tuple[str, str]
) -> None:
    _, link_token = bob

    response = http.post(PATH, data={"token": link_token}, headers={"Accept": "application/json"})

    assert_json(response, 200, VERIFIED)


def test_an_expired_link_is_refused(
    http: TestClient, authority: Authority, bob: tuple[str, str], clock: FakeClock
) -> None:
    sub, link_token = bob
    clock.advance(86400)

    assert_error(http.post(PATH, json={"token": link_token}), *INVALID_LINK)
    assert not verified(authority, sub)


@pytest.mark.parametrize("value", ["unknown-token", "x" * 129])
def test_an_unknown_token_is_refused(http: TestClient, bob: tuple[str, str], value: str) -> None:
    assert_error(http.post(PATH, json={"token": value}), *INVALID_LINK)


def test_a_missing_token_is_an_invalid_request(http: TestClient) -> None:
    assert_error(http.post(PATH, json={}), 400, "invalid_request", "missing parameter: token")


def test_a_reset_link_does_not_verify(
    http: TestClient, authority: Authority, bob: tuple[str, str], mailbox: Mailbox
) -> None:
    http.post("/accounts/password/reset", json={"email": "bob@example.com"})
    reset_token = token(mailbox.messages()[-1], "/accounts/password/reset")

    assert_error(http.post(PATH, json={"token": reset_token}), *INVALID_LINK)


def test_register_verify_then_log_in(
    http: TestClient, app_client: Registered, bob: tuple[str, str]
) -> None:
    _, link_token = bob
    data = {"grant_type": "password", "username": "bob", "password": NEW_PASSWORD}

    refused = post_token(http, data, app_client)
    assert_error(
        refused, 400, "invalid_grant", "the email address of this account is not verified yet"
    )

    assert http.post(PATH, json={"token": link_token}).status_code == 200
    assert post_token(http, data, app_client).status_code == 200
