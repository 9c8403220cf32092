"""Authorization server metadata (RFC 8414) and its OpenID Connect twin."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from authority.runtime import Authority, check_start
from authority.settings import ConfigError
from authority.storage.sql import SqlStorage
from authority.web.app import create_app
from tests.conftest import ISSUER, FakeClock, Registered

URLS = ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]


def metadata(http: TestClient, url: str) -> dict[str, Any]:
    response = http.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("url", URLS)
def test_refuses_post(http: TestClient, url: str) -> None:
    assert http.post(url).status_code == 405


@pytest.mark.parametrize("url", URLS)
def test_names_exactly_the_configured_issuer(http: TestClient, url: str) -> None:
    assert metadata(http, url)["issuer"] == ISSUER


@pytest.mark.parametrize("url", URLS)
def test_lists_every_endpoint_as_an_absolute_url_under_the_issuer(
    http: TestClient, url: str
) -> None:
    body = metadata(http, url)
    endpoints = {k: v for k, v in body.items() if k.endswith("_endpoint") or k == "jwks_uri"}
    assert endpoints["token_endpoint"] == f"{ISSUER}/token"
    assert endpoints["jwks_uri"] == f"{ISSUER}/jwks.json"
    for value in endpoints.values():
        parts = urlsplit(value)
        assert value.startswith(ISSUER + "/")
        assert not parts.query and not parts.fragment


@pytest.mark.parametrize("url", URLS)
def test_lists_only_endpoints_that_are_served(http: TestClient, url: str) -> None:
    body = metadata(http, url)
    jwks = http.get(urlsplit(body["jwks_uri"]).path)
    assert jwks.status_code == 200
    assert jwks.json()["keys"]
    for name, value in body.items():
        if name.endswith("_endpoint"):
            response = http.post(urlsplit(value).path)
            assert response.status_code != 404, name


@pytest.mark.parametrize("url", URLS)
def test_lists_the_grant_types_and_client_auth_methods(http: TestClient, url: str) -> None:
    body = metadata(http, url)
    assert body["grant_types_supported"] == [
        "authorization_code",
        "client_credentials",
        "password",
        "refresh_token",
    ]
    # "none": a public client names itself with client_id alone.
    assert body["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    assert body["revocation_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    assert body["introspection_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]


@pytest.mark.parametrize("url", URLS)
def test_lists_the_signing_algorithm_of_access_tokens(http: TestClient, url: str) -> None:
    assert metadata(http, url)["access_token_signing_alg_values_supported"] == ["ES256"]


@pytest.mark.parametrize("url", URLS)
def test_lists_the_standard_scopes_and_never_a_clients_own(
    http: TestClient, service_client: Registered, app_client: Registered, url: str
) -> None:
    # app_client's "admin" (and anyone's "read", "write") is that client's business: listed,
    # it would tell the world what every team's API accepts.
    assert metadata(http, url)["scopes_supported"] == ["openid", "profile", "email"]


def test_lists_the_scopes_the_operator_makes_public(
    authority: Authority, storage: SqlStorage, clock: FakeClock, app_client: Registered
) -> None:
    settings = authority.settings.replace(public_scopes="read  invoices:read openid")
    public = Authority(settings, storage, clock=clock)
    with TestClient(create_app(authority=public), base_url=ISSUER) as http:
        for url in URLS:
            assert metadata(http, url)["scopes_supported"] == [
                "openid",
                "profile",
                "email",
                "read",
                "invoices:read",
            ]


def test_a_public_scope_that_is_no_scope_stops_the_start(authority: Authority) -> None:
    settings = authority.settings.replace(public_scopes='read "quoted"')
    with pytest.raises(ConfigError) as refused:
        check_start(settings)
    assert str(refused.value) == (
        "AUTHORITY_PUBLIC_SCOPES: '\"quoted\"' is not a scope (printable ASCII, no quote or "
        "backslash)"
    )


def test_serves_the_same_document_at_both_urls(
    http: TestClient, service_client: Registered
) -> None:
    assert metadata(http, URLS[0]) == metadata(http, URLS[1])


@pytest.mark.parametrize("url", URLS)
def test_may_be_cached_publicly(http: TestClient, url: str) -> None:
    assert http.get(url).headers["cache-control"] == "public, max-age=300"


@pytest.mark.parametrize("url", URLS)
def test_describes_the_authorization_code_flow(http: TestClient, url: str) -> None:
    body = metadata(http, url)
    assert body["authorization_endpoint"] == f"{ISSUER}/authorize"
    assert body["response_types_supported"] == ["code"]
    assert body["response_modes_supported"] == ["query", "form_post"]
    # PKCE with S256 only, and iss in every authorization response (RFC 9207).
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["authorization_response_iss_parameter_supported"] is True
    assert body["prompt_values_supported"] == ["none", "login", "consent"]
    assert body["request_parameter_supported"] is False
    assert body["request_uri_parameter_supported"] is False
    assert {"nonce", "at_hash", "sid", "auth_time", "amr"} <= set(body["claims_supported"])
