"""POST /revoke (RFC 7009) and POST /introspect (RFC 7662)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.runtime import Authority
from tests.conftest import ISSUER, FakeClock, Registered
from tests.http.helpers import assert_error, assert_no_store, post_token
from tests.verify.support import ecdsa_twin

PASSWORD = "correct horse battery"


def login(http: TestClient, client: Registered, **extra: str | list[str]) -> dict[str, Any]:
    response = post_token(
        http,
        {"grant_type": "password", "username": "alice", "password": PASSWORD, **extra},
        client,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def introspect(http: TestClient, client: Registered, token: str, **extra: str) -> httpx2.Response:
    return http.post("/introspect", data={"token": token, **extra}, auth=client.basic)


def revoke(http: TestClient, client: Registered, token: str, **extra: str) -> httpx2.Response:
    return http.post("/revoke", data={"token": token, **extra}, auth=client.basic)


def service_token(http: TestClient, client: Registered) -> str:
    response = post_token(http, {"grant_type": "client_credentials"}, client)
    return str(response.json()["access_token"])


# -- client authentication and malformed requests ----------------------------------------------


@pytest.mark.parametrize("path", ["/introspect", "/revoke"])
def test_requires_client_authentication(http: TestClient, path: str) -> None:
    response = http.post(path, data={"token": "x"})
    assert_error(response, 400, "invalid_client", "client authentication is required")
    wrong = http.post(path, data={"token": "x"}, auth=("nobody", "nothing"))
    assert_error(wrong, 401, "invalid_client", "client authentication failed", challenge=True)


@pytest.mark.parametrize("path", ["/introspect", "/revoke"])
def test_a_missing_token_is_invalid_request(
    http: TestClient, service_client: Registered, path: str
) -> None:
    response = http.post(path, data={"token_type_hint": "x"}, auth=service_client.basic)
    assert_error(response, 400, "invalid_request", "missing parameter: token")


@pytest.mark.parametrize("path", ["/introspect", "/revoke"])
def test_a_non_form_body_is_invalid_request(
    http: TestClient, service_client: Registered, path: str
) -> None:
    response = http.post(path, json={"token": "x"}, auth=service_client.basic)
    assert_error(
        response,
        400,
        "invalid_request",
        "the request body must be application/x-www-form-urlencoded",
    )


# -- introspection -------------------------------------------------------------------------------


def _forge(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"sig") -> str:
    def enc(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return ".".join(
        [enc(json.dumps(header).encode()), enc(json.dumps(payload).encode()), enc(signature)]
    )


def test_garbage_forged_and_foreign_tokens_are_inactive(
    http: TestClient, service_client: Registered, authority: Authority
) -> None:
    real = service_token(http, service_client)
    header_b64, payload_b64, _ = real.split(".")
    payload = json.loads(base64.urlsafe_b64decode(payload_b64 + "=="))
    kid = authority.keys.published.active("ES256").kid
    public_jwk = json.dumps(authority.keys.published.active("ES256").public_jwk).encode()
    hs = _forge({"alg": "HS256", "typ": "at+jwt", "kid": kid}, payload)
    signing_input = hs.rsplit(".", 1)[0].encode()
    hs_with_public_key = (
        signing_input.decode()
        + "."
        + base64.urlsafe_b64encode(hmac.new(public_jwk, signing_input, hashlib.sha256).digest())
        .rstrip(b"=")
        .decode()
    )
    cases = {
        "garbage": "not-a-token",
        "three garbage segments": "a.b.c",
        "alg none": _forge({"alg": "none", "typ": "at+jwt", "kid": kid}, payload, b""),
        "hmac keyed with our public key": hs_with_public_key,
        "wrong typ": _forge({"alg": "ES256", "typ": "JWT", "kid": kid}, payload),
        "bad signature": f"{header_b64}.{payload_b64}.AAAA",
        "unknown kid": _forge({"alg": "ES256", "typ": "at+jwt", "kid": "nope"}, payload),
        "huge": "x" * 20000,
    }
    for name, token in cases.items():
        response = introspect(http, service_client, token)
        assert response.status_code == 200, name
        assert response.json() == {"active": False}, name
        assert_no_store(response)


def test_a_valid_access_token_is_active_with_its_claims(
    http: TestClient, service_client: Registered
) -> None:
    token = service_token(http, service_client)
    body = introspect(http, service_client, token).json()
    assert body["active"] is True
    assert body["token_type"] == "Bearer"
    assert body["client_id"] == service_client.client_id == body["sub"]
    assert body["iss"] == ISSUER and body["aud"] == "https://api.example"
    assert body["scope"] == "read"
    assert {"exp", "iat", "jti"} <= set(body)


def test_the_high_s_twin_of_a_valid_access_token_is_inactive(
    http: TestClient, service_client: Registered
) -> None:
    # (r, n - s) verifies like (r, s): a second string for one token, which we refuse.
    token = service_token(http, service_client)
    assert introspect(http, service_client, token).json()["active"] is True
    assert introspect(http, service_client, ecdsa_twin(token)).json() == {"active": False}


def test_an_expired_access_token_is_inactive(
    http: TestClient, service_client: Registered, clock: FakeClock
) -> None:
    token = service_token(http, service_client)
    clock.advance(901)
    assert introspect(http, service_client, token).json() == {"active": False}


def test_a_refresh_token_is_active_for_its_own_client_only(
    http: TestClient, app_client: Registered, service_client: Registered, alice: str
) -> None:
    tokens = login(http, app_client)
    body = introspect(
        http, app_client, tokens["refresh_token"], token_type_hint="access_token"
    ).json()
    assert body["active"] is True and body["token_type"] == "refresh_token"
    assert body["sub"] == alice and body["client_id"] == app_client.client_id
    assert introspect(http, service_client, tokens["refresh_token"]).json() == {"active": False}


# -- who may introspect an access token (RFC 7662 §4) ------------------------------------------


def _client(
    admin: Admin, name: str, resource_servers: list[str] | None = None, introspect_any: bool = False
) -> Registered:
    client, secret = admin.create_client(
        name,
        ["client_credentials"],
        ["read"],
        None,
        [],
        resource_servers=resource_servers,
        introspect_any=introspect_any,
    )
    return Registered(client.client_id, secret)


def test_another_clients_access_token_is_inactive_to_a_client_with_no_right_to_it(
    http: TestClient, app_client: Registered, service_client: Registered, admin: Admin
) -> None:
    token = service_token(http, service_client)
    bystander = _client(admin, "bystander")
    for client in (app_client, bystander):
        assert introspect(http, client, token).json() == {"active": False}
    assert introspect(http, service_client, token).json()["active"] is True


def test_a_resource_server_of_the_tokens_audience_may_introspect_it(
    http: TestClient, service_client: Registered, admin: Admin
) -> None:
    token = service_token(http, service_client)  # aud https://api.example
    api = _client(admin, "api", resource_servers=["https://api.example"])
    body = introspect(http, api, token).json()
    assert body["active"] is True
    assert body["client_id"] == service_client.client_id
    assert body["aud"] == "https://api.example"


def test_a_resource_server_of_another_audience_may_not(
    http: TestClient, app_client: Registered, admin: Admin, alice: str
) -> None:
    other = login(http, app_client, resource="https://other.example")["access_token"]
    both = login(http, app_client, resource=["https://api.example", "https://other.example"])[
        "access_token"
    ]
    api = _client(admin, "api", resource_servers=["https://api.example"])
    assert introspect(http, api, other).json() == {"active": False}
    assert introspect(http, api, both).json()["active"] is True  # api.example is one of them


def test_a_client_marked_introspect_any_may_introspect_every_access_token(
    http: TestClient, app_client: Registered, service_client: Registered, admin: Admin, alice: str
) -> None:
    gateway = _client(admin, "gateway", introspect_any=True)
    tokens = login(http, app_client, resource="https://other.example")
    for token in (tokens["access_token"], service_token(http, service_client)):
        assert introspect(http, gateway, token).json()["active"] is True
    # Refresh tokens stay their own client's business.
    assert introspect(http, gateway, tokens["refresh_token"]).json() == {"active": False}


def test_a_revoked_token_is_inactive_to_its_resource_server_too(
    http: TestClient, service_client: Registered, admin: Admin
) -> None:
    token = service_token(http, service_client)
    api = _client(admin, "api", resource_servers=["https://api.example"], introspect_any=True)
    assert revoke(http, service_client, token).status_code == 200
    assert introspect(http, api, token).json() == {"active": False}


# -- revocation ------------------------------------------------------------------------------------


def test_revoking_a_refresh_token_ends_its_family_and_its_access_tokens(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    first = login(http, app_client)
    second = post_token(
        http,
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        app_client,
    ).json()
    response = revoke(http, app_client, second["refresh_token"], token_type_hint="refresh_token")
    assert response.status_code == 200 and response.content == b""
    assert_no_store(response)
    for token in (second["refresh_token"], second["access_token"], first["access_token"]):
        assert introspect(http, app_client, token).json() == {"active": False}
    again = post_token(
        http,
        {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]},
        app_client,
    )
    assert again.json()["error"] == "invalid_grant"


def test_revoking_an_access_token_denies_it_until_it_expires(
    http: TestClient, service_client: Registered
) -> None:
    token = service_token(http, service_client)
    other = service_token(http, service_client)
    assert revoke(http, service_client, token).status_code == 200
    assert introspect(http, service_client, token).json() == {"active": False}
    assert introspect(http, service_client, other).json()["active"] is True


def test_a_client_cannot_revoke_another_clients_tokens(
    http: TestClient, app_client: Registered, service_client: Registered, alice: str
) -> None:
    tokens = login(http, app_client)
    their_access = service_token(http, service_client)
    for token in (tokens["refresh_token"], tokens["access_token"]):
        assert revoke(http, service_client, token).status_code == 200
        assert introspect(http, app_client, token).json()["active"] is True
    assert revoke(http, app_client, their_access).status_code == 200
    assert introspect(http, service_client, their_access).json()["active"] is True


def test_unknown_tokens_are_answered_200(http: TestClient, service_client: Registered) -> None:
    for token in ("unknown", "a.b.c", "x" * 5000):
        response = revoke(http, service_client, token, token_type_hint="bogus")
        assert response.status_code == 200
