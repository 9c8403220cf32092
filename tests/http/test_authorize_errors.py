"""/authorize refuses bad requests: a 400 page while the client or its redirect URI is in
doubt (never a redirect, RFC 6749 §4.1.2.1), else an error sent back to the client with
state and iss (RFC 9207)."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from authority.storage import Client
from authority.storage.sql import SqlStorage
from tests.conftest import ISSUER
from tests.http.authorize_helpers import (
    REDIRECT_URI,
    add_web_client,
    assert_error_page,
    authorize,
    redirect_query,
    request_params,
)


@pytest.fixture
def client(storage: SqlStorage) -> Client:
    return add_web_client(storage)


def refused(error: str, description: str, state: str | None = "xyz-state") -> dict[str, str]:
    answer = {"error": error, "error_description": description, "iss": ISSUER}
    if state is not None:
        answer["state"] = state
    return answer


# -- the client or the redirect URI in doubt: a page, never a redirect ---------------------


def test_an_unknown_client_gets_a_page(http: TestClient, client: Client) -> None:
    response = authorize(http, request_params(client, client_id="nobody"))
    assert_error_page(response, "unknown client: nobody")


def test_a_missing_client_id_gets_a_page(http: TestClient, client: Client) -> None:
    response = authorize(http, request_params(client, client_id=None))
    assert_error_page(response, "missing parameter: client_id")


def test_a_disabled_client_gets_a_page(
    http: TestClient, client: Client, storage: SqlStorage
) -> None:
    storage.set_client_disabled(client.client_id, True, int(time.time()))
    response = authorize(http, request_params(client))
    assert_error_page(response, f"unknown client: {client.client_id}")


def test_a_missing_redirect_uri_gets_a_page(http: TestClient, client: Client) -> None:
    response = authorize(http, request_params(client, redirect_uri=None))
    assert_error_page(response, "missing parameter: redirect_uri")


@pytest.mark.parametrize(
    "variant",
    [
        "https://app.example/cb/",  # trailing slash
        "https://APP.example/cb",  # changed case
        "https://app.example/CB",
        "https://app.example/cb?extra=1",  # extra query
        "https://app.example/cb#frag",  # fragment
        "https://user@app.example/cb",  # userinfo
        "https://app.example:pw@evil.example/cb",
        "https://app.example/x/../cb",  # dot segments
        "https://app.example/./cb",
        "https://app.example:8443/cb",  # another port
        "https://app.example:443/cb",
        "https://evil.example/cb",  # another host
        "https://app.example.evil.example/cb",
        "http://app.example/cb",  # another scheme
        "https://app.example/cb%2F..",
        "not a uri",
    ],
)
def test_open_redirect_variants_of_a_registered_uri_get_a_page(
    http: TestClient, client: Client, variant: str
) -> None:
    response = authorize(http, request_params(client, redirect_uri=variant))
    assert_error_page(response, f"redirect_uri is not registered for this client: {variant}")


def test_a_repeated_redirect_uri_gets_a_page(http: TestClient, client: Client) -> None:
    params = [*request_params(client).items(), ("redirect_uri", REDIRECT_URI)]
    assert_error_page(authorize(http, params), "parameter redirect_uri must not be repeated")


def test_a_repeated_client_id_gets_a_page(http: TestClient, client: Client) -> None:
    params = [*request_params(client).items(), ("client_id", client.client_id)]
    assert_error_page(authorize(http, params), "parameter client_id must not be repeated")


def test_an_oversized_redirect_uri_gets_a_page(http: TestClient, client: Client) -> None:
    response = authorize(http, request_params(client, redirect_uri=REDIRECT_URI + "x" * 2000))
    assert_error_page(response, "parameter redirect_uri is longer than 2000 characters")


def test_an_undecodable_query_gets_a_page(http: TestClient, client: Client) -> None:
    response = http.get(
        f"/authorize?client_id={client.client_id}&state=%ff", follow_redirects=False
    )
    assert_error_page(response, "the request body is not valid UTF-8 form data")


def test_a_loopback_redirect_uri_matches_on_any_port(http: TestClient, storage: SqlStorage) -> None:
    native = add_web_client(storage, redirect_uris=("http://127.0.0.1/cb",))
    for asked in ("http://127.0.0.1:53124/cb", "http://127.0.0.1/cb"):
        response = authorize(http, request_params(native, redirect_uri=asked, response_type="x"))
        assert redirect_query(response, to=asked)["error"] == "unsupported_response_type"
    other_path = "http://127.0.0.1:53124/other"
    response = authorize(http, request_params(native, redirect_uri=other_path))
    assert_error_page(response, f"redirect_uri is not registered for this client: {other_path}")


# -- the client is known: the error goes back to it -----------------------------------------


@pytest.mark.parametrize(
    ("changes", "error", "description"),
    [
        (
            {"response_type": "token"},
            "unsupported_response_type",
            "response_type must be code, not token",
        ),
        ({"response_type": None}, "invalid_request", "missing parameter: response_type"),
        (
            {"code_challenge": None},
            "invalid_request",
            "missing parameter: code_challenge (PKCE is required)",
        ),
        (
            {"code_challenge_method": "plain"},
            "invalid_request",
            "code_challenge_method must be S256: it is required, and plain is not accepted",
        ),
        (
            {"code_challenge_method": None},
            "invalid_request",
            "code_challenge_method must be S256: it is required, and plain is not accepted",
        ),
        (
            {"code_challenge": "short"},
            "invalid_request",
            "code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9 and - . _ ~",
        ),
        (
            {"code_challenge": "a" * 42 + "!"},
            "invalid_request",
            "code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9 and - . _ ~",
        ),
        (
            {"code_challenge": "a" * 129},
            "invalid_request",
            "code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9 and - . _ ~",
        ),
        ({"scope": "openid admin"}, "invalid_scope", "scope not allowed for this client: admin"),
        (
            {"resource": "https://elsewhere.example"},
            "invalid_target",
            "this client may not request tokens for https://elsewhere.example",
        ),
        (
            {"resource": "relative/path"},
            "invalid_target",
            "resource must be an absolute URI without a fragment: relative/path",
        ),
        (
            {"prompt": "none login"},
            "invalid_request",
            "prompt=none must not be combined with another value",
        ),
        (
            {"prompt": "select_account"},
            "invalid_request",
            "prompt must be none, login or consent, not select_account",
        ),
        (
            {"max_age": "-1"},
            "invalid_request",
            "max_age must be a number of seconds (0 or more), not -1",
        ),
        (
            {"max_age": "1.5"},
            "invalid_request",
            "max_age must be a number of seconds (0 or more), not 1.5",
        ),
        (
            {"response_mode": "fragment"},
            "invalid_request",
            "response_mode must be query or form_post, not fragment",
        ),
        (
            {"request": "eyJhbGciOiJub25lIn0.e30."},
            "request_not_supported",
            "request objects (the request parameter) are not supported",
        ),
        (
            {"request_uri": "urn:example:1"},
            "request_uri_not_supported",
            "the request_uri parameter is not supported",
        ),
        (
            {"nonce": "n" * 2001},
            "invalid_request",
            "parameter nonce is longer than 2000 characters",
        ),
        (
            {"login_hint": "a" * 2001},
            "invalid_request",
            "parameter login_hint is longer than 2000 characters",
        ),
    ],
)
def test_a_bad_request_of_a_known_client_goes_back_to_it(
    http: TestClient,
    client: Client,
    changes: dict[str, str | None],
    error: str,
    description: str,
) -> None:
    response = authorize(http, request_params(client, **changes))
    assert redirect_query(response) == refused(error, description)
    assert response.headers["cache-control"] == "no-store"


def test_a_client_without_the_code_grant_is_unauthorized(
    http: TestClient, storage: SqlStorage
) -> None:
    password_only = add_web_client(storage, grant_types=("password",))
    response = authorize(http, request_params(password_only))
    assert redirect_query(response) == refused(
        "unauthorized_client", "this client may not use the authorization_code grant"
    )


def test_a_repeated_parameter_goes_back_as_invalid_request(
    http: TestClient, client: Client
) -> None:
    params = [*request_params(client).items(), ("scope", "openid")]
    assert redirect_query(authorize(http, params)) == refused(
        "invalid_request", "parameter scope must not be repeated"
    )


def test_a_repeated_state_is_not_echoed(http: TestClient, client: Client) -> None:
    params = [*request_params(client).items(), ("state", "other")]
    assert redirect_query(authorize(http, params)) == refused(
        "invalid_request", "parameter state must not be repeated", state=None
    )


def test_an_oversized_state_is_refused_and_not_echoed(http: TestClient, client: Client) -> None:
    response = authorize(http, request_params(client, state="s" * 2001))
    assert redirect_query(response) == refused(
        "invalid_request", "parameter state is longer than 2000 characters", state=None
    )


def test_a_state_of_2000_characters_is_echoed(http: TestClient, client: Client) -> None:
    response = authorize(http, request_params(client, state="s" * 2000, response_type="x"))
    assert redirect_query(response)["state"] == "s" * 2000


def test_an_error_keeps_the_query_the_redirect_uri_was_registered_with(
    http: TestClient, storage: SqlStorage
) -> None:
    with_query = add_web_client(storage, redirect_uris=("https://app.example/cb?tenant=7",))
    params = request_params(with_query, redirect_uri="https://app.example/cb?tenant=7")
    response = authorize(http, {**params, "response_type": "token"})
    assert response.headers["location"].startswith(
        "https://app.example/cb?tenant=7&error=unsupported_response_type&"
    )


def test_an_error_in_form_post_mode_is_posted_back(http: TestClient, client: Client) -> None:
    response = authorize(
        http, request_params(client, response_mode="form_post", response_type="token")
    )
    assert response.status_code == 200
    assert f'<form method="post" action="{REDIRECT_URI}"' in response.text
    assert '<input type="hidden" name="error" value="unsupported_response_type">' in response.text


@pytest.mark.parametrize(
    "query",
    [
        "",
        "client_id=",
        "client_id=%00",
        "client_id=" + "x" * 5000,
        "redirect_uri=%E2%28%A1",
        "response_type=code&client_id[]=1",
        "%ZZ=1",
        "max_age=99999999999999999999999",
        "prompt=%20",
        "scope=%7F",
    ],
)
def test_no_input_gets_a_server_error(http: TestClient, client: Client, query: str) -> None:
    response = http.get(f"/authorize?{query}", follow_redirects=False)
    assert response.status_code in (302, 400)
    assert "Traceback" not in response.text


def test_no_hostile_value_of_a_known_client_gets_a_server_error(
    http: TestClient, client: Client
) -> None:
    for name in ("scope", "state", "prompt", "max_age", "resource", "nonce", "login_hint"):
        for value in (" ", "%", "\u2603" * 700, "a b  c", "[::1"):
            response = authorize(http, request_params(client, **{name: value}))
            assert response.status_code in (200, 302), (name, value, response.text)
