"""The hosted pages the login page links to: the registration form and the forgotten
password form, and the pages a browser's post of them gets back."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from authority.runtime import Authority
from authority.settings import Settings
from authority.web.app import create_app
from tests.conftest import ISSUER
from tests.http.account_helpers import HTML, NEW_PASSWORD, assert_page
from tests.mailbox import Mailbox

REGISTER = "/accounts/register"
FORGOT = "/accounts/password/forgot"
RESET = "/accounts/password/reset"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(registration="open")


def form(username: str = "bob", email: str = "bob@example.com") -> dict[str, str]:
    return {"username": username, "email": email, "password": NEW_PASSWORD}


# -- registration ---------------------------------------------------------------------------


def test_there_is_no_registration_form_while_registration_is_closed(
    authority: Authority,
) -> None:
    closed = authority.settings.replace(registration="closed")
    with TestClient(
        create_app(authority=Authority(closed, authority.storage)), base_url=ISSUER
    ) as http:
        response = http.get(REGISTER)
        posted = http.post(REGISTER, data=form(), headers=HTML)

    assert (response.status_code, response.json()) == (
        404,
        {"error": "not_found", "error_description": "Not Found"},
    )
    page = assert_page(posted, 403)
    assert "registration is closed; an operator creates accounts" in page
    assert authority.storage.get_user_by_username("bob") is None


@pytest.mark.parametrize(
    ("data", "status", "problem"),
    [
        (form(username="two words"), 400, "a username holds 1 to 150 letters"),
        (form(email="not-an-address"), 400, "email must be an email address"),
        (
            {**form(), "password": "password1234"},
            400,
            "the password is too easy to guess: This is a very common password.",
        ),
        (form(username="alice", email="bob@example.com"), 409, "this username is taken"),
    ],
    ids=["username", "email", "weak-password", "username-taken"],
)
def test_a_refused_registration_shows_the_form_again_with_the_reason(
    http: TestClient,
    authority: Authority,
    alice: str,
    mailbox: Mailbox,
    data: dict[str, str],
    status: int,
    problem: str,
) -> None:
    page = assert_page(http.post(REGISTER, data=data, headers=HTML), status)

    assert f'<p class="error" role="alert">{problem}' in page
    assert f'name="username" type="text" value="{data["username"]}"' in page
    assert f'name="email" type="email" value="{data["email"]}"' in page
    assert NEW_PASSWORD not in page and "password1234" not in page
    assert mailbox.messages() == []


def test_the_registration_form_posts_username_email_and_password(http: TestClient) -> None:
    page = assert_page(http.get(REGISTER), 200)

    assert '<form method="post" action="register" accept-charset="utf-8">' in page
    for name in ("username", "email", "password"):
        assert f'<label for="{name}">' in page
        assert f'<input id="{name}" name="{name}"' in page
    assert 'autocomplete="new-password" required minlength="10"' in page
    assert '<p class="error"' not in page


def test_a_browser_that_registers_gets_a_page_and_the_verification_mail(
    http: TestClient, authority: Authority, mailbox: Mailbox
) -> None:
    page = assert_page(http.post(REGISTER, data=form()), 201)

    assert "Check your email" in page
    user = authority.storage.get_user_by_username("bob")
    assert user is not None and user.email == "bob@example.com"
    [message] = mailbox.messages()
    assert message["To"] == "bob@example.com"
    assert "set-cookie" not in http.post(REGISTER, data=form("carol", "c@example.com")).headers


# -- forgotten password ---------------------------------------------------------------------


def test_a_malformed_address_shows_the_form_again(http: TestClient, mailbox: Mailbox) -> None:
    page = assert_page(http.post(RESET, data={"email": "nope"}, headers=HTML), 400)

    assert '<p class="error" role="alert">email must be an email address</p>' in page
    assert 'name="email" type="email" value="nope"' in page
    assert mailbox.messages() == []


def test_the_forgotten_password_form_posts_an_email_address(http: TestClient) -> None:
    page = assert_page(http.get(FORGOT), 200)

    assert '<form method="post" action="reset" accept-charset="utf-8">' in page
    assert '<label for="email">' in page
    assert '<input id="email" name="email" type="email" value=""' in page


def test_known_and_unknown_addresses_get_the_same_page(
    http: TestClient, alice: str, mailbox: Mailbox
) -> None:
    known = assert_page(http.post(RESET, data={"email": "alice@example.com"}), 202)
    unknown = assert_page(http.post(RESET, data={"email": "nobody@example.com"}), 202)

    assert known == unknown
    assert "a link to choose a new password is on its way to it" in known
    [message] = mailbox.messages()
    assert message["To"] == "alice@example.com"
