"""Client authentication at /token (RFC 6749 §2.3.1): client_secret_basic, client_secret_post."""

from __future__ import annotations

import time
from urllib.parse import quote, quote_plus

import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.runtime import Authority
from authority.storage import Client
from authority.storage.sql import SqlStorage
from tests.conftest import Registered
from tests.http.helpers import (
    assert_error,
    assert_token_response,
    basic,
    post_token,
    verify_access_token,
)

CC = {"grant_type": "client_credentials"}
FAILED = "client authentication failed"
MALFORMED = "malformed Basic credentials"
REQUIRED = "client authentication is required"
API = "https://api.example"


@pytest.fixture
def odd_client(authority: Authority, storage: SqlStorage) -> Registered:
    """A client whose id and secret hold characters that need form-encoding in Basic."""
    client_id, secret = "svc:1 +ü/%", "s3cr:t with spaces+é&="
    storage.add_client(
        Client(
            client_id=client_id,
            name="odd",
            secret_hash=authority.digest.digest(secret),
            grant_types=("client_credentials",),
            scopes=("read",),
            default_scopes=("read",),
            audiences=(API,),
            disabled=False,
            created_at=int(time.time()),
        )
    )
    return Registered(client_id, secret)


# -- no or too many credentials -------------------------------------------------------------


def test_rejects_a_request_with_no_client_authentication(http: TestClient) -> None:
    assert_error(post_token(http, CC), 400, "invalid_client", REQUIRED)


def test_rejects_a_client_id_without_a_secret(http: TestClient, service_client: Registered) -> None:
    response = post_token(http, {**CC, "client_id": service_client.client_id})
    assert_error(response, 400, "invalid_client", REQUIRED)


def test_rejects_a_secret_without_a_client_id(http: TestClient, service_client: Registered) -> None:
    response = post_token(http, {**CC, "client_secret": service_client.secret})
    assert_error(response, 400, "invalid_client", REQUIRED)


def test_treats_an_empty_client_secret_as_absent(
    http: TestClient, service_client: Registered
) -> None:
    data = {**CC, "client_id": service_client.client_id, "client_secret": ""}
    assert_error(post_token(http, data), 400, "invalid_client", REQUIRED)


def test_rejects_basic_and_post_credentials_in_one_request(
    http: TestClient, service_client: Registered
) -> None:
    data = {**CC, "client_id": service_client.client_id, "client_secret": service_client.secret}
    response = post_token(http, data, service_client)
    assert_error(response, 400, "invalid_request", "use one client authentication method, not two")


def test_rejects_basic_with_a_secret_alone_in_the_body(
    http: TestClient, service_client: Registered
) -> None:
    response = post_token(http, {**CC, "client_secret": service_client.secret}, service_client)
    assert_error(response, 400, "invalid_request", "use one client authentication method, not two")


def test_rejects_a_body_client_id_that_differs_from_the_basic_one(
    http: TestClient, service_client: Registered, app_client: Registered
) -> None:
    response = post_token(http, {**CC, "client_id": app_client.client_id}, service_client)
    assert_error(response, 400, "invalid_request", "client_id does not match the Basic credentials")


# -- wrong credentials ----------------------------------------------------------------------


def test_answers_401_with_a_basic_challenge_to_a_wrong_secret_in_basic(
    http: TestClient, service_client: Registered
) -> None:
    response = http.post(
        "/token", data=CC, auth=(service_client.client_id, service_client.secret + "x")
    )
    assert_error(response, 401, "invalid_client", FAILED, challenge=True)


def test_answers_401_with_a_basic_challenge_to_an_unknown_client_in_basic(
    http: TestClient, service_client: Registered
) -> None:
    response = http.post("/token", data=CC, auth=("no-such-client", service_client.secret))
    assert_error(response, 401, "invalid_client", FAILED, challenge=True)


def test_answers_401_to_a_disabled_client_in_basic(
    http: TestClient, service_client: Registered, storage: SqlStorage
) -> None:
    assert storage.set_client_disabled(service_client.client_id, True, int(time.time()))
    response = post_token(http, CC, service_client)
    assert_error(response, 401, "invalid_client", FAILED, challenge=True)


def test_answers_401_to_an_over_long_client_id_in_basic(
    http: TestClient, service_client: Registered
) -> None:
    response = http.post("/token", data=CC, auth=("c" * 65, service_client.secret))
    assert_error(response, 401, "invalid_client", FAILED, challenge=True)


def test_answers_400_without_a_challenge_to_a_wrong_secret_in_the_body(
    http: TestClient, service_client: Registered
) -> None:
    data = {**CC, "client_id": service_client.client_id, "client_secret": "wrong"}
    assert_error(post_token(http, data), 400, "invalid_client", FAILED)


def test_answers_400_without_a_challenge_to_an_unknown_client_in_the_body(
    http: TestClient, service_client: Registered
) -> None:
    data = {**CC, "client_id": "no-such-client", "client_secret": service_client.secret}
    assert_error(post_token(http, data), 400, "invalid_client", FAILED)


def test_answers_400_without_a_challenge_to_a_disabled_client_in_the_body(
    http: TestClient, service_client: Registered, storage: SqlStorage
) -> None:
    assert storage.set_client_disabled(service_client.client_id, True, int(time.time()))
    data = {**CC, "client_id": service_client.client_id, "client_secret": service_client.secret}
    assert_error(post_token(http, data), 400, "invalid_client", FAILED)


def test_answers_the_same_for_an_unknown_client_and_a_wrong_secret(
    http: TestClient, service_client: Registered
) -> None:
    wrong_secret = http.post("/token", data=CC, auth=(service_client.client_id, "x"))
    unknown = http.post("/token", data=CC, auth=("nobody", "x"))
    assert wrong_secret.status_code == unknown.status_code == 401
    assert wrong_secret.content == unknown.content
    assert wrong_secret.headers["www-authenticate"] == unknown.headers["www-authenticate"]


def test_rejects_an_empty_secret_in_basic(http: TestClient, service_client: Registered) -> None:
    response = post_token(http, CC, headers={"Authorization": basic(service_client.client_id, "")})
    assert_error(response, 401, "invalid_client", FAILED, challenge=True)


# -- malformed Basic ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "description"),
    [
        ("Basic !!!not-base64!!!", MALFORMED),
        ("Basic c3ZjOnNlY3JldA", MALFORMED),  # unpadded
        ("Basic", MALFORMED),
        ("Basic ", MALFORMED),
        ("Basic bm8tY29sb24taGVyZQ==", MALFORMED),  # "no-colon-here"
        (basic("", "secret"), MALFORMED),
        (basic(b"\xff\xfe", "secret"), MALFORMED),
        (basic("%ff", "secret"), MALFORMED),
        (basic("client", "%c3"), MALFORMED),
        (basic("a\x00b", "secret"), MALFORMED),
        (basic("a%00b", "secret"), MALFORMED),
        (basic("client", "se\ncret"), MALFORMED),
        ("Bearer abc.def.ghi", "use HTTP Basic or client_secret_post to authenticate"),
        ("Digest username=x", "use HTTP Basic or client_secret_post to authenticate"),
        ("c3ZjOnNlY3JldA==", "use HTTP Basic or client_secret_post to authenticate"),
    ],
)
def test_answers_401_to_malformed_basic_credentials(
    http: TestClient, service_client: Registered, authorization: str, description: str
) -> None:
    response = post_token(http, CC, headers={"Authorization": authorization})
    assert_error(response, 401, "invalid_client", description, challenge=True)


def test_answers_401_to_a_basic_header_that_is_not_ascii(http: TestClient) -> None:
    response = post_token(http, CC, headers={"Authorization": b"Basic \xe9t\xe9=="})
    assert_error(response, 401, "invalid_client", MALFORMED, challenge=True)


# -- what works -----------------------------------------------------------------------------


def test_authenticates_with_client_secret_basic(
    http: TestClient, service_client: Registered
) -> None:
    body = assert_token_response(post_token(http, CC, service_client), refresh=False)
    claims = verify_access_token(http, body["access_token"], API)
    assert claims["client_id"] == service_client.client_id


def test_authenticates_with_client_secret_post(
    http: TestClient, service_client: Registered
) -> None:
    data = {**CC, "client_id": service_client.client_id, "client_secret": service_client.secret}
    body = assert_token_response(post_token(http, data), refresh=False)
    claims = verify_access_token(http, body["access_token"], API)
    assert claims["client_id"] == service_client.client_id


def test_accepts_basic_with_the_same_client_id_repeated_in_the_body(
    http: TestClient, service_client: Registered
) -> None:
    response = post_token(http, {**CC, "client_id": service_client.client_id}, service_client)
    assert_token_response(response, refresh=False)


def test_accepts_the_basic_scheme_name_in_any_case(
    http: TestClient, service_client: Registered
) -> None:
    authorization = basic(*service_client.basic).replace("Basic", "bASIC")
    response = post_token(http, CC, headers={"Authorization": authorization})
    assert_token_response(response, refresh=False)


def test_decodes_form_encoded_id_and_secret_in_basic(
    http: TestClient, odd_client: Registered
) -> None:
    authorization = basic(quote_plus(odd_client.client_id), quote_plus(odd_client.secret))
    response = post_token(http, CC, headers={"Authorization": authorization})
    claims = verify_access_token(
        http, assert_token_response(response, refresh=False)["access_token"], API
    )
    assert claims["client_id"] == claims["sub"] == odd_client.client_id


def test_decodes_percent_encoded_spaces_in_basic(http: TestClient, odd_client: Registered) -> None:
    authorization = basic(quote(odd_client.client_id, safe=""), quote(odd_client.secret, safe=""))
    response = post_token(http, CC, headers={"Authorization": authorization})
    assert_token_response(response, refresh=False)


def test_refuses_basic_credentials_that_were_not_form_encoded(
    http: TestClient, odd_client: Registered
) -> None:
    # Unencoded, the id's first ":" ends the id and its "+" would read as a space.
    authorization = basic(odd_client.client_id, odd_client.secret)
    response = post_token(http, CC, headers={"Authorization": authorization})
    assert_error(response, 401, "invalid_client", FAILED, challenge=True)


def test_accepts_odd_characters_in_client_secret_post(
    http: TestClient, odd_client: Registered
) -> None:
    data = {**CC, "client_id": odd_client.client_id, "client_secret": odd_client.secret}
    assert_token_response(post_token(http, data), refresh=False)


def test_accepts_a_client_again_once_it_is_enabled(
    http: TestClient, service_client: Registered, storage: SqlStorage
) -> None:
    storage.set_client_disabled(service_client.client_id, True, int(time.time()))
    assert post_token(http, CC, service_client).status_code == 401
    storage.set_client_disabled(service_client.client_id, False, int(time.time()))
    assert_token_response(post_token(http, CC, service_client), refresh=False)


# -- which grants a client may use ----------------------------------------------------------


def test_refuses_a_grant_the_client_is_not_registered_for(
    http: TestClient, service_client: Registered, alice: str
) -> None:
    data = {"grant_type": "password", "username": "alice", "password": "correct horse battery"}
    response = post_token(http, data, service_client)
    assert_error(response, 400, "unauthorized_client", "this client may not use the password grant")


def test_refuses_client_credentials_to_a_first_party_app(
    http: TestClient, app_client: Registered
) -> None:
    response = post_token(http, CC, app_client)
    assert_error(
        response,
        400,
        "unauthorized_client",
        "this client may not use the client_credentials grant",
    )


def test_refuses_refresh_to_a_client_without_the_refresh_token_grant(
    http: TestClient, admin: Admin
) -> None:
    client, secret = admin.create_client("cli", ["password"], ["read"], None, [])
    response = post_token(
        http,
        {"grant_type": "refresh_token", "refresh_token": "x"},
        Registered(client.client_id, secret),
    )
    assert_error(
        response, 400, "unauthorized_client", "this client may not use the refresh_token grant"
    )


def test_authenticates_the_client_before_checking_its_grants(
    http: TestClient, service_client: Registered
) -> None:
    data = {"grant_type": "password", "username": "alice", "password": "x"}
    response = http.post("/token", data=data, auth=(service_client.client_id, "wrong"))
    assert_error(response, 401, "invalid_client", FAILED, challenge=True)
