"""Password reset by link: the request that reveals nothing, the page, and the confirmation."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.runtime import Authority
from authority.settings import Settings
from authority.storage.tables import users
from tests.conftest import ISSUER, FakeClock, Registered
from tests.http.account_helpers import (
    HTML,
    INVALID_LINK,
    NEW_PASSWORD,
    PASSWORD,
    RESET_ACCEPTED,
    assert_json,
    assert_page,
    confirm_reset,
    login,
    request_reset,
)
from tests.http.helpers import assert_error, post_token, same_headers
from tests.mailbox import Mailbox, text, token

PATH = "/accounts/password/reset"
CONFIRM = "/accounts/password/reset/confirm"
RESET = {"status": "password_reset"}
BAD_LOGIN = ("invalid_grant", "invalid username or password")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(login_max_failures=3)


def reset_link(http: TestClient, mailbox: Mailbox, email: str = "alice@example.com") -> str:
    before = len(mailbox.messages())
    assert request_reset(http, email).status_code == 202
    messages = mailbox.messages()
    assert len(messages) == before + 1
    return token(messages[-1], PATH)


# -- asking for a link ----------------------------------------------------------------------


def test_known_and_unknown_addresses_get_the_same_answer(
    http: TestClient, alice: str, mailbox: Mailbox
) -> None:
    known = request_reset(http, "alice@example.com")
    unknown = request_reset(http, "nobody@example.com")

    for response in (known, unknown):
        assert_json(response, 202, RESET_ACCEPTED)
    assert same_headers(known, unknown)
    [message] = mailbox.messages()  # only the account's address gets mail
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "Reset your password"
    assert "expires in 30 minutes" in text(message)
    assert f"{ISSUER}{PATH}?token=" in text(message)


def test_the_address_is_found_whatever_its_case(
    http: TestClient, alice: str, mailbox: Mailbox
) -> None:
    assert_json(request_reset(http, "Alice@EXAMPLE.com"), 202, RESET_ACCEPTED)
    assert [m["To"] for m in mailbox.messages()] == ["alice@example.com"]


def test_a_disabled_account_gets_no_link(
    http: TestClient, alice: str, admin: Admin, mailbox: Mailbox, authority: Authority
) -> None:
    authority.storage.set_user_disabled(alice, True, authority.now())

    assert_json(request_reset(http, "alice@example.com"), 202, RESET_ACCEPTED)
    assert mailbox.messages() == []


def test_a_malformed_address_is_an_invalid_request(http: TestClient) -> None:
    assert_error(
        request_reset(http, "not an address"),
        400,
        "invalid_request",
        "email must be an email address",
    )
    response = http.post(PATH, json={})
    assert_error(response, 400, "invalid_request", "missing parameter: email")


def test_requests_for_one_address_are_throttled_yet_answered_the_same(
    http: TestClient, alice: str, mailbox: Mailbox, clock: FakeClock, authority: Authority
) -> None:
    for _ in range(5):
        assert_json(request_reset(http, "alice@example.com"), 202, RESET_ACCEPTED)
    assert len(mailbox.messages()) == 3  # login_max_failures=3: then locked

    clock.advance(authority.settings.login_lockout)
    assert_json(request_reset(http, "alice@example.com"), 202, RESET_ACCEPTED)
    assert len(mailbox.messages()) == 4


def test_refused_requests_do_not_keep_the_owner_from_the_next_window(
    http: TestClient, alice: str, mailbox: Mailbox, clock: FakeClock, authority: Authority
) -> None:
    # At most 3 mails (login_max_failures) per address in each 15 minutes (login_lockout),
    # the window starting at the first mail; a refused request neither counts nor re-arms.
    window = authority.settings.login_lockout
    for _ in range(3):
        request_reset(http, "alice@example.com")
    assert len(mailbox.messages()) == 3
    for _ in range(window // 60 - 1):  # someone asks again every minute
        clock.advance(60)
        assert_json(request_reset(http, "alice@example.com"), 202, RESET_ACCEPTED)
    assert len(mailbox.messages()) == 3

    clock.advance(60)  # one window after the first mail: the owner's request gets its mail
    assert_json(request_reset(http, "alice@example.com"), 202, RESET_ACCEPTED)
    assert len(mailbox.messages()) == 4


# -- the page the link opens ----------------------------------------------------------------


def test_the_link_opens_a_form_that_posts_the_token_and_a_new_password(
    http: TestClient, alice: str, mailbox: Mailbox
) -> None:
    link_token = reset_link(http, mailbox)

    page = assert_page(http.get(PATH, params={"token": link_token}), 200)

    assert '<form method="post" action="reset/confirm" accept-charset="utf-8">' in page
    assert f'<input type="hidden" name="token" value="{link_token}">' in page
    assert 'name="new_password" type="password" autocomplete="new-password"' in page
    assert 'minlength="10"' in page


@pytest.mark.parametrize("query", [{}, {"token": "unknown"}])
def test_a_bad_link_opens_an_error_page(http: TestClient, query: dict[str, str]) -> None:
    page = assert_page(http.get(PATH, params=query), 400)

    assert "this link is invalid, has expired or was already used" in page


# -- confirming ----------------------------------------------------------------------------


def test_a_reset_sets_the_password_and_ends_every_session(
    http: TestClient, alice: str, app_client: Registered, mailbox: Mailbox, authority: Authority
) -> None:
    sessions = [login(http, app_client, PASSWORD).json() for _ in range(2)]
    link_token = reset_link(http, mailbox)

    assert_json(confirm_reset(http, link_token), 200, RESET)

    assert_error(login(http, app_client, PASSWORD), 400, *BAD_LOGIN)
    assert login(http, app_client, NEW_PASSWORD).status_code == 200
    for session in sessions:
        refresh = {"grant_type": "refresh_token", "refresh_token": session["refresh_token"]}
        assert post_token(http, refresh, app_client).json()["error"] == "invalid_grant"
        introspected = http.post(
            "/introspect", data={"token": session["access_token"]}, auth=app_client.basic
        )
        assert introspected.json() == {"active": False}
    user = authority.storage.get_user(alice)
    assert user is not None and user.email_verified  # the link reached the mailbox


def test_a_link_works_once(
    http: TestClient, alice: str, app_client: Registered, mailbox: Mailbox
) -> None:
    link_token = reset_link(http, mailbox)
    assert_json(confirm_reset(http, link_token), 200, RESET)

    assert_error(confirm_reset(http, link_token, "another fine passphrase"), *INVALID_LINK)
    assert_page(http.get(PATH, params={"token": link_token}), 400)
    assert login(http, app_client, NEW_PASSWORD).status_code == 200


def test_an_expired_link_is_refused(
    http: TestClient, alice: str, app_client: Registered, mailbox: Mailbox, clock: FakeClock
) -> None:
    link_token = reset_link(http, mailbox)
    clock.advance(1799)
    assert_page(http.get(PATH, params={"token": link_token}), 200)
    clock.advance(1)

    assert_error(confirm_reset(http, link_token), *INVALID_LINK)
    assert_page(http.get(PATH, params={"token": link_token}), 400)
    assert login(http, app_client, PASSWORD).status_code == 200


@pytest.mark.parametrize("value", ["unknown-token", "x" * 129])
def test_an_unknown_token_is_refused(http: TestClient, alice: str, value: str) -> None:
    assert_error(confirm_reset(http, value), *INVALID_LINK)


def test_using_one_link_voids_the_older_ones(
    http: TestClient, alice: str, mailbox: Mailbox
) -> None:
    older = reset_link(http, mailbox)
    newer = reset_link(http, mailbox)

    assert_json(confirm_reset(http, newer), 200, RESET)
    assert_error(confirm_reset(http, older, "another fine passphrase"), *INVALID_LINK)


def test_a_verification_link_resets_nothing(
    http: TestClient, authority: Authority, mailbox: Mailbox
) -> None:
    from authority.web.app import create_app

    open_ = authority.settings.replace(registration="open")
    with TestClient(
        create_app(authority=Authority(open_, authority.storage)), base_url=ISSUER
    ) as c:
        c.post(
            "/accounts/register",
            json={"username": "bob", "email": "bob@example.com", "password": NEW_PASSWORD},
        )
    verify_token = token(mailbox.messages()[-1], "/accounts/verify-email")

    assert_error(confirm_reset(http, verify_token), *INVALID_LINK)


def test_a_weak_password_is_refused_and_the_link_stays_usable(
    http: TestClient, alice: str, app_client: Registered, mailbox: Mailbox
) -> None:
    link_token = reset_link(http, mailbox)

    assert_error(
        confirm_reset(http, link_token, "alice@example.com"),
        400,
        "weak_password",
        "the password is too close to the username or email address",
    )
    assert_error(
        confirm_reset(http, link_token, "short"),
        400,
        "weak_password",
        "a password needs at least 10 characters",
    )
    assert_json(confirm_reset(http, link_token), 200, RESET)
    assert login(http, app_client, NEW_PASSWORD).status_code == 200


def test_a_reset_lifts_a_lockout(
    http: TestClient, alice: str, app_client: Registered, mailbox: Mailbox
) -> None:
    for _ in range(3):
        assert_error(login(http, app_client, "wrong"), 400, *BAD_LOGIN)
    assert_error(login(http, app_client, PASSWORD), 400, *BAD_LOGIN)  # locked

    assert_json(confirm_reset(http, reset_link(http, mailbox)), 200, RESET)

    assert login(http, app_client, NEW_PASSWORD).status_code == 200


def test_a_disabled_account_cannot_use_its_link(
    http: TestClient, alice: str, mailbox: Mailbox, authority: Authority
) -> None:
    link_token = reset_link(http, mailbox)
    authority.storage.set_user_disabled(alice, True, authority.now())

    assert_error(confirm_reset(http, link_token), *INVALID_LINK)


def test_an_account_whose_address_was_imported_in_capitals_gets_its_link(
    http: TestClient, alice: str, mailbox: Mailbox, authority: Authority
) -> None:
    with authority.storage.engine.begin() as conn:
        conn.execute(update(users).where(users.c.sub == alice).values(email="Alice@Example.com"))

    assert reset_link(http, mailbox, "alice@example.com")


# -- the form, from a browser -------------------------------------------------------------


def test_the_form_gets_a_page_back(
    http: TestClient, alice: str, app_client: Registered, mailbox: Mailbox
) -> None:
    link_token = reset_link(http, mailbox)
    form = {"token": link_token, "new_password": NEW_PASSWORD}

    page = assert_page(http.post(CONFIRM, data=form, headers=HTML), 200)

    assert "Password changed" in page
    assert login(http, app_client, NEW_PASSWORD).status_code == 200
    again = assert_page(http.post(CONFIRM, data=form, headers=HTML), 400)
    assert "was already used" in again


def test_a_weak_password_from_the_form_shows_the_form_again_with_the_reason(
    http: TestClient, alice: str, mailbox: Mailbox
) -> None:
    link_token = reset_link(http, mailbox)
    form = {"token": link_token, "new_password": "password1234"}

    page = assert_page(http.post(CONFIRM, data=form, headers=HTML), 400)

    assert "This is a very common password." in page
    assert f'<input type="hidden" name="token" value="{link_token}">' in page


def test_a_form_without_an_accept_header_gets_a_page_and_one_asking_for_json_gets_json(
    http: TestClient, alice: str, mailbox: Mailbox
) -> None:
    form = {"token": "unknown", "new_password": NEW_PASSWORD}

    assert_page(http.post(CONFIRM, data=form, headers={"Accept": "*/*"}), 400)
    response = http.post(CONFIRM, data=form, headers={"Accept": "application/json"})
    assert_error(response, *INVALID_LINK)
