"""The hosted login page of /authorize and the single sign-on it starts (OIDC Core §3.1.2)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from authority.admin.bootstrap import prepare
from authority.runtime import Authority
from authority.settings import Settings
from authority.storage import AuthorizationCode, Client
from authority.storage.sql import SqlStorage
from authority.web.app import create_app
from tests.conftest import ISSUER, FakeClock
from tests.http.authorize_helpers import (
    BAD_LOGIN,
    CHALLENGE,
    PASSWORD,
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

COOKIE = "authority_session"
FORGED = "this form has expired or was not sent from this site: go back to the app and try again"


@pytest.fixture
def client(storage: SqlStorage) -> Client:
    return add_web_client(storage)


def stored_code(authority: Authority, client: Client, code: str) -> AuthorizationCode:
    """What the code was issued for, opened as the token endpoint opens it."""
    found = authority.code_sealer.open(code)
    assert found is not None and found.client_id == client.client_id, found
    return found


@contextmanager
def served(settings: Settings, storage: SqlStorage, clock: FakeClock) -> Iterator[TestClient]:
    """The app with settings of a test's own."""
    prepare(settings, storage)
    app = create_app(authority=Authority(settings, storage, clock))
    with TestClient(app, base_url=ISSUER) as http:
        yield http


def problem(text: str) -> str:
    return f'<p class="error" role="alert" id="problem">{text}</p>'


# -- the form -------------------------------------------------------------------------------


def test_the_login_page_carries_the_request_and_a_csrf_token(
    http: TestClient, client: Client, authority: Authority
) -> None:
    response = authorize(http, request_params(client))
    assert response.status_code == 200
    assert_page_headers(response)
    # Chrome applies form-action to the redirect after the post: the client's origin too.
    assert "form-action 'self' https://app.example;" in response.headers["content-security-policy"]
    fields = hidden_fields(response.text)
    assert fields == {
        "csrf_token": fields["csrf_token"],
        **request_params(client),
    }
    cookie = response.cookies[COOKIE]
    assert fields["csrf_token"] == authority.browser.csrf_token(cookie)
    assert "set-cookie" in response.headers
    assert "HttpOnly" in response.headers["set-cookie"]
    assert "SameSite=lax" in response.headers["set-cookie"]
    assert '<label for="username">' in response.text
    assert '<label for="password">' in response.text
    assert re.search(r'<input id="username" name="username"[^>]* autofocus>', response.text)
    assert '<form method="post" action="/authorize"' in response.text
    assert "<script" not in response.text


def test_login_hint_fills_in_the_username(http: TestClient, client: Client) -> None:
    response = authorize(http, request_params(client, login_hint="alice"))
    assert re.search(r'name="username" type="text" value="alice"', response.text)
    assert re.search(r'<input id="password"[^>]* autofocus>', response.text)


def test_no_links_to_registration_or_reset_unless_enabled(
    http: TestClient, client: Client, settings: Settings
) -> None:
    # The HTTP tests deliver mail to a folder: the reset link shows; registration is closed.
    page = authorize(http, request_params(client)).text
    assert 'href="/accounts/password/forgot"' in page
    assert 'href="/accounts/register"' not in page


# -- signing in -----------------------------------------------------------------------------


def test_signing_in_answers_with_a_code_bound_to_the_request(
    http: TestClient, client: Client, alice: str, authority: Authority, clock: FakeClock
) -> None:
    response = log_in(http, request_params(client, resource="https://api.example"))
    answer = redirect_query(response)
    assert set(answer) == {"code", "state", "iss"}
    assert (answer["state"], answer["iss"]) == ("xyz-state", ISSUER)
    assert len(answer["code"]) >= 43
    cookie = response.cookies[COOKIE]
    session = authority.browser.find(cookie, authority.now())
    assert session is not None
    assert "Max-Age=1209600" in response.headers["set-cookie"]
    now = authority.now()
    assert stored_code(authority, client, answer["code"]) == AuthorizationCode(
        code_hash=authority.digest.digest(answer["code"]),
        client_id=client.client_id,
        redirect_uri=REDIRECT_URI,
        code_challenge=CHALLENGE,
        sub=alice,
        scope=("openid", "read"),
        # openid: the authority too, so the access token works at /userinfo.
        audience=("https://api.example", ISSUER),
        nonce="n-0S6_WzA2Mj",
        auth_time=now,
        amr=("pwd",),
        browser_session_id=session.session_id,
        created_at=now,
        expires_at=now + 60,
    )


def test_single_sign_on_gives_a_second_client_a_code_without_the_form(
    http: TestClient, client: Client, alice: str, authority: Authority, clock: FakeClock
) -> None:
    log_in(http, request_params(client))
    signed_in_at = authority.now()
    clock.advance(30)
    second = add_web_client(authority.storage, name="Second", redirect_uris=(REDIRECT_URI,))
    response = authorize(http, request_params(second, scope=None))
    answer = redirect_query(response)
    assert (answer["state"], answer["iss"]) == ("xyz-state", ISSUER)
    code = stored_code(authority, second, answer["code"])
    assert (code.client_id, code.sub, code.scope) == (second.client_id, alice, ("openid",))
    assert code.auth_time == signed_in_at  # the sign-in's time, not this request's
    assert code.created_at == signed_in_at + 30


def test_an_unknown_user_and_a_wrong_password_get_the_same_answer(
    http: TestClient, client: Client, alice: str
) -> None:
    unknown = log_in(http, request_params(client), username="nobody", password="whatever")
    wrong = log_in(http, request_params(client), password="wrong password")
    for response in (unknown, wrong):
        assert response.status_code == 400
        assert_page_headers(response)
        assert problem(BAD_LOGIN) in response.text
        assert "location" not in response.headers
        assert COOKIE not in response.cookies or not response.cookies[COOKIE]
    assert 'value="nobody"' in unknown.text
    assert 'value="alice"' in wrong.text
    assert 'value="wrong password"' not in wrong.text


def test_a_missing_csrf_token_is_refused_before_the_password_is_checked(
    http: TestClient, client: Client, alice: str, authority: Authority
) -> None:
    authorize(http, request_params(client))  # the browser has its cookie
    form = {**request_params(client), "username": "alice", "password": PASSWORD}
    assert_error_page(post_authorize(http, form), FORGED)


def test_a_wrong_csrf_token_is_refused(http: TestClient, client: Client, alice: str) -> None:
    shown = authorize(http, request_params(client))
    form = {**hidden_fields(shown.text), "username": "alice", "password": PASSWORD}
    assert_error_page(post_authorize(http, {**form, "csrf_token": "x" * 43}), FORGED)


def test_a_csrf_token_of_another_browser_is_refused(
    http: TestClient, client: Client, alice: str
) -> None:
    shown = authorize(http, request_params(client))
    form = {**hidden_fields(shown.text), "username": "alice", "password": PASSWORD}
    http.cookies.clear()
    authorize(http, request_params(client))  # a new anonymous cookie
    assert_error_page(post_authorize(http, form), FORGED)


def test_the_login_locks_out_like_the_password_grant(
    http: TestClient, client: Client, alice: str, authority: Authority, clock: FakeClock
) -> None:
    assert authority.settings.login_max_failures == 5
    for _ in range(5):
        assert problem(BAD_LOGIN) in log_in(http, request_params(client), password="no").text
    # Locked: the right password gets the wrong-password answer.
    locked = log_in(http, request_params(client))
    assert locked.status_code == 400
    assert problem(BAD_LOGIN) in locked.text
    clock.advance(authority.settings.login_lockout)
    assert redirect_query(log_in(http, request_params(client)))["state"] == "xyz-state"


def test_an_unverified_address_is_refused_when_verification_is_required(
    settings: Settings, storage: SqlStorage, clock: FakeClock, alice: str
) -> None:
    client = add_web_client(storage)
    with served(settings.replace(require_verified_email=True), storage, clock) as http:
        response = log_in(http, request_params(client))
        wrong = log_in(http, request_params(client), password="no")
    assert response.status_code == 400
    assert problem("the email address of this account is not verified yet") in response.text
    # It says where to ask for a new link; a wrong password is told nothing of the kind.
    assert '<a href="/accounts/verify-email/resend">' in response.text
    assert "verify-email/resend" not in wrong.text


def test_signing_in_replaces_the_cookie_value(
    http: TestClient, client: Client, alice: str, authority: Authority
) -> None:
    shown = authorize(http, request_params(client))
    anonymous = shown.cookies[COOKIE]
    form = {**hidden_fields(shown.text), "username": "alice", "password": PASSWORD}
    signed_in = post_authorize(http, form).cookies[COOKIE]
    assert signed_in != anonymous
    assert authority.browser.find(anonymous, authority.now()) is None


# -- prompt and max_age ---------------------------------------------------------------------


def test_prompt_none_without_a_session_is_login_required(http: TestClient, client: Client) -> None:
    response = authorize(http, request_params(client, prompt="none"))
    assert redirect_query(response) == {
        "error": "login_required",
        "error_description": "the user must sign in, which prompt=none does not allow",
        "state": "xyz-state",
        "iss": ISSUER,
    }


def test_prompt_none_with_a_session_gives_a_code(
    http: TestClient, client: Client, alice: str
) -> None:
    log_in(http, request_params(client))
    assert "code" in redirect_query(authorize(http, request_params(client, prompt="none")))


def test_prompt_login_shows_the_form_and_a_new_sign_in_ends_the_last(
    http: TestClient, client: Client, alice: str, authority: Authority, clock: FakeClock
) -> None:
    first = log_in(http, request_params(client)).cookies[COOKIE]
    clock.advance(10)
    again = log_in(http, request_params(client, prompt="login"))
    answer = redirect_query(again)
    assert stored_code(authority, client, answer["code"]).auth_time == authority.now()
    assert authority.browser.find(first, authority.now()) is None


def test_max_age_passed_asks_to_sign_in_again(
    http: TestClient, client: Client, alice: str, clock: FakeClock
) -> None:
    log_in(http, request_params(client))
    clock.advance(60)
    assert "code" in redirect_query(authorize(http, request_params(client, max_age="60")))
    clock.advance(1)
    response = authorize(http, request_params(client, max_age="60"))
    assert response.status_code == 200
    assert '<input id="password"' in response.text
    silent = authorize(http, request_params(client, max_age="60", prompt="none"))
    assert redirect_query(silent)["error"] == "login_required"


def test_a_session_that_ended_asks_to_sign_in_again(
    http: TestClient, client: Client, alice: str, authority: Authority
) -> None:
    cookie = log_in(http, request_params(client)).cookies[COOKIE]
    session = authority.browser.find(cookie, authority.now())
    assert session is not None
    authority.browser.end(session.session_id, authority.now())
    response = authorize(http, request_params(client))
    assert response.status_code == 200
    assert '<input id="password"' in response.text


# -- the pages --------------------------------------------------------------------------------


def test_an_operator_template_replaces_the_login_page(
    settings: Settings, storage: SqlStorage, clock: FakeClock, tmp_path: Path
) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "login.html").write_text(
        '{% extends "base.html" %}{% block title %}Sign in to Example Corp{% endblock %}'
        "{% block content %}<p>{{ client_name }}</p>{% endblock %}"
    )
    custom = settings.replace(templates_dir=folder)
    prepare(custom, storage)
    client = add_web_client(storage)
    with TestClient(
        create_app(authority=Authority(custom, storage, clock)), base_url=ISSUER
    ) as http:
        response = authorize(http, request_params(client))
    assert response.status_code == 200
    assert_page_headers(response)
    assert "<h1>Sign in to Example Corp</h1>" in response.text
    assert "<p>Web app</p>" in response.text


def test_a_posted_authorization_request_is_read_like_a_get(
    http: TestClient, client: Client, alice: str
) -> None:
    log_in(http, request_params(client))
    answer = redirect_query(post_authorize(http, request_params(client)))
    assert (set(answer), answer["state"]) == ({"code", "state", "iss"}, "xyz-state")
    refused = post_authorize(http, request_params(client, response_type="token"))
    assert redirect_query(refused)["error"] == "unsupported_response_type"
