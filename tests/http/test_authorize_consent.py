"""The consent page of /authorize (third-party clients, prompt=consent) and form_post
answers (OAuth 2.0 Form Post Response Mode)."""

from __future__ import annotations

import re

import httpx2
import pytest
from starlette.testclient import TestClient

from authority.runtime import Authority
from authority.storage import Client
from authority.storage.sql import SqlStorage
from tests.conftest import ISSUER
from tests.http.authorize_helpers import (
    REDIRECT_URI,
    add_web_client,
    assert_error_page,
    assert_page_headers,
    authorize,
    hidden_fields,
    log_in,
    post_authorize,
    redirect_query,
    request_params,
)

FORGED = "this form has expired or was not sent from this site: go back to the app and try again"


@pytest.fixture
def third_party(storage: SqlStorage) -> Client:
    return add_web_client(storage, name="Photo Printer", consent=True)


def choose(http: TestClient, consent_page: httpx2.Response, choice: str) -> httpx2.Response:
    return post_authorize(http, {**hidden_fields(consent_page.text), "consent": choice})


def test_a_third_party_client_asks_for_consent_after_the_login(
    http: TestClient, third_party: Client, alice: str
) -> None:
    page = log_in(http, request_params(third_party, scope="openid profile email read"))
    assert page.status_code == 200
    assert_page_headers(page)
    assert "form-action 'self' https://app.example;" in page.headers["content-security-policy"]
    assert "<h1>Allow Photo Printer?</h1>" in page.text
    for words in (
        "confirm who you are (your account&#39;s identifier)",
        "see your username",
        "see your email address",
        "use your account with these permissions: read",
    ):
        assert f"<li>{words}</li>" in page.text
    assert '<button type="submit" name="consent" value="allow" autofocus>' in page.text
    assert '<button type="submit" name="consent" value="deny"' in page.text
    assert "csrf_token" in hidden_fields(page.text)


def test_allow_gives_the_code_and_is_remembered(
    http: TestClient, third_party: Client, alice: str, authority: Authority
) -> None:
    page = log_in(http, request_params(third_party))
    answer = redirect_query(choose(http, page, "allow"))
    assert (set(answer), answer["iss"]) == ({"code", "state", "iss"}, ISSUER)
    consent = authority.storage.get_consent(alice, third_party.client_id)
    assert consent is not None and consent.scopes == ("openid", "read")
    # Remembered: the same scopes (or fewer) get a code at once, more scopes ask again.
    assert "code" in redirect_query(authorize(http, request_params(third_party, scope="read")))
    assert "code" in redirect_query(authorize(http, request_params(third_party, prompt="none")))
    more = authorize(http, request_params(third_party, scope="openid read email"))
    assert more.status_code == 200
    assert 'value="allow"' in more.text


def test_deny_sends_access_denied(
    http: TestClient, third_party: Client, alice: str, authority: Authority
) -> None:
    page = log_in(http, request_params(third_party))
    assert redirect_query(choose(http, page, "deny")) == {
        "error": "access_denied",
        "error_description": "the user did not allow this app to sign in",
        "state": "xyz-state",
        "iss": ISSUER,
    }
    assert authority.storage.get_consent(alice, third_party.client_id) is None


def test_prompt_none_when_consent_is_needed_is_consent_required(
    http: TestClient, third_party: Client, alice: str
) -> None:
    log_in(http, request_params(third_party))  # signed in, but nothing approved yet
    assert redirect_query(authorize(http, request_params(third_party, prompt="none"))) == {
        "error": "consent_required",
        "error_description": "the user must approve this app, which prompt=none does not allow",
        "state": "xyz-state",
        "iss": ISSUER,
    }


def test_prompt_consent_asks_again_even_when_remembered_or_first_party(
    http: TestClient, third_party: Client, alice: str, storage: SqlStorage
) -> None:
    choose(http, log_in(http, request_params(third_party)), "allow")
    again = authorize(http, request_params(third_party, prompt="consent"))
    assert 'value="allow"' in again.text
    # The posted form carries prompt=consent: allow must not ask once more.
    assert "code" in redirect_query(choose(http, again, "allow"))
    first_party = add_web_client(storage, name="Our app")
    assert "code" in redirect_query(authorize(http, request_params(first_party)))
    asked = authorize(http, request_params(first_party, prompt="consent"))
    assert "<h1>Allow Our app?</h1>" in asked.text


def test_a_first_party_client_never_shows_the_consent_page(
    http: TestClient, storage: SqlStorage, alice: str
) -> None:
    ours = add_web_client(storage)
    assert "code" in redirect_query(log_in(http, request_params(ours)))


def test_a_consent_post_without_the_csrf_token_is_refused(
    http: TestClient, third_party: Client, alice: str, authority: Authority
) -> None:
    page = log_in(http, request_params(third_party))
    fields = hidden_fields(page.text)
    del fields["csrf_token"]
    assert_error_page(post_authorize(http, {**fields, "consent": "allow"}), FORGED)
    assert authority.storage.get_consent(alice, third_party.client_id) is None


def test_a_consent_post_from_a_signed_out_browser_shows_the_login(
    http: TestClient, third_party: Client, alice: str, authority: Authority
) -> None:
    page = log_in(http, request_params(third_party))
    cookie = page.cookies["authority_session"]
    session = authority.browser.find(cookie, authority.now())
    assert session is not None
    authority.browser.end(session.session_id, authority.now())
    response = choose(http, page, "allow")
    assert response.status_code == 200
    assert '<input id="password"' in response.text
    assert authority.storage.get_consent(alice, third_party.client_id) is None


def test_a_consent_other_than_allow_or_deny_is_refused(
    http: TestClient, third_party: Client, alice: str
) -> None:
    page = log_in(http, request_params(third_party))
    assert_error_page(choose(http, page, "maybe"), "consent must be allow or deny")


# -- form_post --------------------------------------------------------------------------------


def test_form_post_answers_with_a_page_that_posts_the_code(
    http: TestClient, storage: SqlStorage, alice: str
) -> None:
    client = add_web_client(storage)
    page = log_in(http, request_params(client, response_mode="form_post"))
    assert page.status_code == 200
    assert "location" not in page.headers
    assert_page_headers(page)
    assert "form-action 'self' https://app.example;" in page.headers["content-security-policy"]
    assert f'<form method="post" action="{REDIRECT_URI}"' in page.text
    assert re.search(r'<button type="submit" autofocus>Continue</button>', page.text)
    fields = hidden_fields(page.text)
    assert set(fields) == {"code", "state", "iss"}
    assert (fields["state"], fields["iss"]) == ("xyz-state", ISSUER)


def test_form_post_to_a_private_use_scheme_allows_that_scheme(
    http: TestClient, storage: SqlStorage, alice: str
) -> None:
    native = add_web_client(storage, redirect_uris=("com.example.app:/cb",), public=True)
    params = request_params(native, redirect_uri="com.example.app:/cb", response_mode="form_post")
    page = log_in(http, params)
    assert "form-action 'self' com.example.app:;" in page.headers["content-security-policy"]
