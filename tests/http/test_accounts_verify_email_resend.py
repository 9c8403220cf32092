"""A new verification link on request: answered as a reset request is (always 202, one body,
capped per mailbox), mailed only to an account whose address is not verified yet; and the
pages of a spent link lead to where a new one is asked for."""

from __future__ import annotations

import httpx2
import pytest
from starlette.testclient import TestClient

from authority.runtime import Authority
from authority.settings import Settings
from tests.conftest import FakeClock
from tests.http.account_helpers import (
    HTML,
    INVALID_LINK,
    RESET_ACCEPTED,
    assert_json,
    assert_page,
    register,
    request_reset,
)
from tests.http.helpers import assert_error, same_headers
from tests.mailbox import Mailbox, text, token

PATH = "/accounts/verify-email/resend"
VERIFY = "/accounts/verify-email"
RESEND_ACCEPTED = {
    "status": "accepted",
    "message": (
        "if an account has this email address and it is not verified yet, a new verification "
        "link is on its way to it"
    ),
}
ASK_AGAIN = '<a href="{}">Send me a new link</a>'


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(registration="open", login_max_failures=3)


@pytest.fixture
def bob(http: TestClient, mailbox: Mailbox) -> str:
    """bob registered (one verification mail sent) and never verified; his sub."""
    response = register(http, "bob", "bob@example.com")
    assert response.status_code == 201
    assert len(mailbox.messages("bob@example.com")) == 1
    sub: str = response.json()["sub"]
    return sub


def resend(http: TestClient, email: str) -> httpx2.Response:
    return http.post(PATH, json={"email": email})


def is_verified(authority: Authority, sub: str) -> bool:
    user = authority.storage.get_user(sub)
    assert user is not None
    return user.email_verified


# -- who gets a link ---------------------------------------------------------------------------


def test_an_unverified_and_an_unknown_address_get_the_same_answer_and_only_one_a_link(
    http: TestClient, authority: Authority, bob: str, mailbox: Mailbox
) -> None:
    known = resend(http, "bob@example.com")
    unknown = resend(http, "nobody@example.com")

    for response in (known, unknown):
        assert_json(response, 202, RESEND_ACCEPTED)
    assert same_headers(known, unknown)
    assert [m["To"] for m in mailbox.messages()] == ["bob@example.com", "bob@example.com"]
    [first, again] = mailbox.messages()
    assert again["Subject"] == "Confirm your email address"
    assert "expires in 1 day" in text(again)
    assert token(again, VERIFY) != token(first, VERIFY)

    verified = http.post(VERIFY, json={"token": token(again, VERIFY)})
    assert_json(verified, 200, {"status": "email_verified"})
    assert is_verified(authority, bob)


def test_a_verified_address_gets_no_new_link_and_the_same_answer(
    http: TestClient, bob: str, mailbox: Mailbox
) -> None:
    [message] = mailbox.messages()
    assert http.post(VERIFY, json={"token": token(message, VERIFY)}).status_code == 200

    assert_json(resend(http, "Bob@Example.com"), 202, RESEND_ACCEPTED)
    assert len(mailbox.messages()) == 1


def test_a_disabled_account_gets_no_link(
    http: TestClient, authority: Authority, bob: str, mailbox: Mailbox
) -> None:
    authority.storage.set_user_disabled(bob, True, authority.now())

    assert_json(resend(http, "bob@example.com"), 202, RESEND_ACCEPTED)
    assert len(mailbox.messages()) == 1  # the registration's only


def test_a_malformed_or_missing_address_is_an_invalid_request(http: TestClient) -> None:
    assert_error(
        resend(http, "not an address"), 400, "invalid_request", "email must be an email address"
    )
    assert_error(http.post(PATH, json={}), 400, "invalid_request", "missing parameter: email")


def test_resends_and_resets_share_one_cap_per_mailbox_yet_are_answered_the_same(
    http: TestClient, bob: str, mailbox: Mailbox, clock: FakeClock, authority: Authority
) -> None:
    # login_max_failures=3 mails per mailbox per window; the registration's was the first.
    assert_json(resend(http, "bob@example.com"), 202, RESEND_ACCEPTED)
    assert_json(request_reset(http, "bob@example.com"), 202, RESET_ACCEPTED)
    assert len(mailbox.messages()) == 3
    assert_json(resend(http, "bob+again@example.com"), 202, RESEND_ACCEPTED)  # the same box
    assert_json(resend(http, "bob@example.com"), 202, RESEND_ACCEPTED)
    assert len(mailbox.messages()) == 3

    clock.advance(authority.settings.login_lockout)
    assert_json(resend(http, "bob@example.com"), 202, RESEND_ACCEPTED)
    assert len(mailbox.messages()) == 4


# -- the pages ---------------------------------------------------------------------------------


def test_the_form_asks_for_the_address_and_its_post_gets_a_page(
    http: TestClient, bob: str, mailbox: Mailbox
) -> None:
    form = assert_page(http.get(PATH), 200)
    assert '<form method="post" action="resend" accept-charset="utf-8">' in form
    assert 'name="email" type="email"' in form

    answer = assert_page(http.post(PATH, data={"email": "bob@example.com"}, headers=HTML), 202)
    assert "a new link to confirm it is on its way" in answer
    assert len(mailbox.messages()) == 2


def test_a_malformed_address_in_the_form_shows_the_form_again(http: TestClient) -> None:
    page = assert_page(http.post(PATH, data={"email": "nope"}, headers=HTML), 400)

    assert "email must be an email address" in page
    assert 'value="nope"' in page


@pytest.mark.parametrize(
    ("method", "path", "target"),
    [
        ("GET", VERIFY, "verify-email/resend"),
        ("POST", VERIFY, "verify-email/resend"),
        ("GET", "/accounts/password/reset", "forgot"),
        ("POST", "/accounts/password/reset/confirm", "../forgot"),
    ],
)
def test_the_page_of_a_spent_link_links_to_where_a_new_one_is_asked_for(
    http: TestClient, method: str, path: str, target: str
) -> None:
    form = {"token": "spent", "new_password": "maple syrup on the moon"}
    if method == "GET":
        response = http.get(path, params={"token": "spent"})
    else:
        response = http.post(path, data=form, headers=HTML)

    page = assert_page(response, 400)
    assert INVALID_LINK[2] in page
    assert ASK_AGAIN.format(target) in page
    # The link resolves, from where the page was opened, to the form that asks.
    base = path.rsplit("/", 1)[0] + "/"
    resolved = str(httpx2.URL(f"http://h{base}").join(target).path)
    assert http.get(resolved).status_code == 200


def test_a_script_still_gets_the_json_error(http: TestClient) -> None:
    assert_error(http.post(VERIFY, json={"token": "spent"}), *INVALID_LINK)
