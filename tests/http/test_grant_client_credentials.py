"""The client credentials grant (RFC 6749 §4.4) and its RFC 9068 access token."""

from __future__ import annotations

import jwt
import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from tests.conftest import ISSUER, FakeClock, Registered
from tests.http.helpers import (
    assert_error,
    assert_token_response,
    post_token,
    verify_access_token,
)

API, OTHER = "https://api.example", "https://other.example"
CC = {"grant_type": "client_credentials"}
BAD_SCOPE = "scope must be space-separated tokens of printable ASCII"
NOT_A_RESOURCE = "resource must be an absolute URI without a fragment: "


@pytest.fixture
def two_audience_client(admin: Admin) -> Registered:
    client, secret = admin.create_client(
        "two", ["client_credentials"], ["read"], None, [API, OTHER]
    )
    return Registered(client.client_id, secret)


# -- scope ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "refused"),
    [("admin", "admin"), ("read admin", "admin"), ("delete read admin", "delete admin")],
)
def test_refuses_a_scope_the_client_may_not_have(
    http: TestClient, service_client: Registered, scope: str, refused: str
) -> None:
    response = post_token(http, {**CC, "scope": scope}, service_client)
    assert_error(response, 400, "invalid_scope", f"scope not allowed for this client: {refused}")


@pytest.mark.parametrize(
    "scope", ["read  write", " read", "read ", 'read "write"', "read\\write", "lecture:é"]
)
def test_refuses_a_malformed_scope(
    http: TestClient, service_client: Registered, scope: str
) -> None:
    response = post_token(http, {**CC, "scope": scope}, service_client)
    assert_error(response, 400, "invalid_scope", BAD_SCOPE)


def test_grants_the_default_scope_when_none_is_asked(
    http: TestClient, service_client: Registered
) -> None:
    body = assert_token_response(post_token(http, CC, service_client), refresh=False)
    assert body["scope"] == "read"
    assert verify_access_token(http, body["access_token"], API)["scope"] == "read"


@pytest.mark.parametrize(
    ("scope", "granted"),
    [("write", "write"), ("write read", "write read"), ("read read", "read")],
)
def test_grants_the_scope_asked_for_within_what_is_allowed(
    http: TestClient, service_client: Registered, scope: str, granted: str
) -> None:
    body = assert_token_response(
        post_token(http, {**CC, "scope": scope}, service_client), refresh=False
    )
    assert body["scope"] == granted
    assert verify_access_token(http, body["access_token"], API)["scope"] == granted


# -- resource (RFC 8707) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "shown"),
    [
        ("https://evil.example", "https://evil.example"),
        ("https://api.example/", "https://api.example/"),
        ("HTTPS://API.EXAMPLE", "HTTPS://API.EXAMPLE"),
        ('https://api.example/\u00e9"', "https://api.example/?'"),
    ],
)
def test_refuses_a_resource_the_client_may_not_use(
    http: TestClient, service_client: Registered, resource: str, shown: str
) -> None:
    response = post_token(http, {**CC, "resource": resource}, service_client)
    assert_error(response, 400, "invalid_target", f"this client may not request tokens for {shown}")


def test_refuses_a_second_resource_the_client_may_not_use(
    http: TestClient, service_client: Registered
) -> None:
    response = post_token(http, {**CC, "resource": [API, OTHER]}, service_client)
    assert_error(response, 400, "invalid_target", f"this client may not request tokens for {OTHER}")


@pytest.mark.parametrize(
    ("resource", "shown"),
    [
        ("/api", "/api"),
        ("api.example", "api.example"),
        ("https://api.example#frag", "https://api.example#frag"),
        ("https://api.example#", "https://api.example#"),
        ("https://[::1", "https://[::1"),
        ('urn"\u00e9', "urn'?"),
    ],
)
def test_refuses_a_resource_that_is_not_an_absolute_uri_without_fragment(
    http: TestClient, service_client: Registered, resource: str, shown: str
) -> None:
    response = post_token(http, {**CC, "resource": resource}, service_client)
    assert_error(response, 400, "invalid_target", NOT_A_RESOURCE + shown)


def test_uses_the_clients_first_audience_when_no_resource_is_asked(
    http: TestClient, two_audience_client: Registered
) -> None:
    body = assert_token_response(post_token(http, CC, two_audience_client), refresh=False)
    assert verify_access_token(http, body["access_token"], API)["aud"] == API


def test_sets_aud_to_the_resource_asked_for(
    http: TestClient, two_audience_client: Registered
) -> None:
    response = post_token(http, {**CC, "resource": OTHER}, two_audience_client)
    body = assert_token_response(response, refresh=False)
    assert verify_access_token(http, body["access_token"], OTHER)["aud"] == OTHER


def test_sets_aud_to_a_list_for_two_resources(
    http: TestClient, two_audience_client: Registered
) -> None:
    response = post_token(http, {**CC, "resource": [OTHER, API, OTHER]}, two_audience_client)
    body = assert_token_response(response, refresh=False)
    assert verify_access_token(http, body["access_token"], API)["aud"] == [OTHER, API]


def test_issues_tokens_for_the_issuer_to_a_client_without_an_audience(
    http: TestClient, admin: Admin
) -> None:
    client, secret = admin.create_client("bare", ["client_credentials"], ["read"], None, [])
    response = post_token(http, CC, Registered(client.client_id, secret))
    body = assert_token_response(response, refresh=False)
    assert verify_access_token(http, body["access_token"], ISSUER)["aud"] == ISSUER


# -- the token --------------------------------------------------------------------------------


def test_issues_an_rfc9068_token_that_verifies_against_the_jwks(
    http: TestClient, service_client: Registered, clock: FakeClock
) -> None:
    body = assert_token_response(post_token(http, CC, service_client), refresh=False)
    claims = verify_access_token(http, body["access_token"], API)
    now = int(clock.now)
    assert claims == {
        "iss": ISSUER,
        "sub": service_client.client_id,
        "aud": API,
        "exp": now + 900,
        "iat": now,
        "jti": claims["jti"],
        "client_id": service_client.client_id,
        "scope": "read",
    }
    assert len(claims["jti"]) >= 22


def test_signs_with_a_key_published_in_the_jwks(
    http: TestClient, service_client: Registered
) -> None:
    body = assert_token_response(post_token(http, CC, service_client), refresh=False)
    header = jwt.get_unverified_header(body["access_token"])
    assert header == {"alg": "ES256", "typ": "at+jwt", "kid": header["kid"]}
    kids = [key["kid"] for key in http.get("/jwks.json").json()["keys"]]
    assert header["kid"] in kids


def test_reports_expires_in_as_the_tokens_lifetime(
    http: TestClient, service_client: Registered
) -> None:
    body = assert_token_response(post_token(http, CC, service_client), refresh=False)
    claims = verify_access_token(http, body["access_token"], API)
    assert body["expires_in"] == claims["exp"] - claims["iat"] == 900


def test_stamps_the_token_with_the_authoritys_clock(
    http: TestClient, service_client: Registered, clock: FakeClock
) -> None:
    clock.advance(-120)  # still valid for a verifier on the real clock
    body = assert_token_response(post_token(http, CC, service_client), refresh=False)
    claims = verify_access_token(http, body["access_token"], API)
    assert claims["iat"] == int(clock.now)


def test_issues_no_refresh_token(http: TestClient, service_client: Registered) -> None:
    body = assert_token_response(post_token(http, CC, service_client), refresh=False)
    assert "refresh_token" not in body


def test_gives_every_token_its_own_jti(http: TestClient, service_client: Registered) -> None:
    tokens = [
        assert_token_response(post_token(http, CC, service_client), refresh=False) for _ in range(5)
    ]
    jtis = {verify_access_token(http, t["access_token"], API)["jti"] for t in tokens}
    assert len(jtis) == 5
