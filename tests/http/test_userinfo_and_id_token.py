"""OIDC: the password grant's id_token (OIDC Core §2, §3.1.3.7) and GET /userinfo (§5.3)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.settings import Settings
from tests.conftest import ISSUER, FakeClock, Registered
from tests.http.helpers import assert_no_store, post_token

PASSWORD = "correct horse battery"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(id_token_alg="RS256")  # the OIDC default, as in production


@pytest.fixture
def oidc_client(admin: Admin) -> Registered:
    client, secret = admin.create_client(
        "web",
        ["password", "refresh_token"],
        ["openid", "profile", "email", "read"],
        ["openid", "read"],
        ["https://api.example"],
    )
    return Registered(client.client_id, secret)


def login(http: TestClient, client: Registered, scope: str) -> dict[str, Any]:
    data = {"grant_type": "password", "username": "alice", "password": PASSWORD, "scope": scope}
    response = post_token(http, data, client)
    assert response.status_code == 200, response.text
    return dict(response.json())


def id_claims(http: TestClient, token: str, audience: str) -> dict[str, Any]:
    header = jwt.get_unverified_header(token)
    jwk = next(k for k in http.get("/jwks.json").json()["keys"] if k["kid"] == header["kid"])
    return dict(
        jwt.decode(
            token, jwt.PyJWK(jwk).key, algorithms=[jwk["alg"]], audience=audience, issuer=ISSUER
        )
    )


def test_no_id_token_without_the_openid_scope(
    http: TestClient, oidc_client: Registered, alice: str
) -> None:
    assert "id_token" not in login(http, oidc_client, "read")


def test_an_openid_login_returns_an_rs256_id_token_for_the_client(
    http: TestClient, oidc_client: Registered, alice: str, clock: FakeClock
) -> None:
    body = login(http, oidc_client, "openid profile email")
    header = jwt.get_unverified_header(body["id_token"])
    assert header["alg"] == "RS256" and header["typ"] == "JWT"
    claims = id_claims(http, body["id_token"], oidc_client.client_id)
    now = int(clock.now)
    assert claims == {
        "iss": ISSUER,
        "sub": alice,
        "aud": oidc_client.client_id,
        "exp": now + 900,
        "iat": now,
        "auth_time": now,
        "amr": ["pwd"],
        "preferred_username": "alice",
        "email": "alice@example.com",
        "email_verified": False,
    }


def test_the_id_token_releases_only_what_the_scopes_ask(
    http: TestClient, oidc_client: Registered, alice: str
) -> None:
    claims = id_claims(http, login(http, oidc_client, "openid")["id_token"], oidc_client.client_id)
    assert "email" not in claims and "preferred_username" not in claims


def test_userinfo_gives_the_claims_of_the_tokens_scopes(
    http: TestClient, oidc_client: Registered, alice: str
) -> None:
    token = login(http, oidc_client, "openid email")["access_token"]
    for method in (http.get, http.post):
        response = method("/userinfo", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert_no_store(response)
        assert response.json() == {
            "sub": alice,
            "email": "alice@example.com",
            "email_verified": False,
        }


def test_userinfo_refuses_a_token_without_openid_and_a_missing_or_bad_token(
    http: TestClient, oidc_client: Registered, alice: str
) -> None:
    no_openid = login(http, oidc_client, "read")["access_token"]
    response = http.get("/userinfo", headers={"Authorization": f"Bearer {no_openid}"})
    # A token without openid is not even meant for the authority (its aud is the API).
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    missing = http.get("/userinfo")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="authority"'
    bad = http.get("/userinfo", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_token"


def test_userinfo_needs_the_openid_scope_even_for_a_token_meant_for_the_authority(
    http: TestClient, oidc_client: Registered, alice: str
) -> None:
    data = {
        "grant_type": "password",
        "username": "alice",
        "password": PASSWORD,
        "scope": "read",
        "resource": ISSUER,
    }
    token = post_token(http, data, oidc_client).json()["access_token"]
    response = http.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_discovery_lists_userinfo_and_the_id_token_algorithm(http: TestClient) -> None:
    metadata = http.get("/.well-known/openid-configuration").json()
    assert metadata["userinfo_endpoint"] == f"{ISSUER}/userinfo"
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"sub", "email", "email_verified", "preferred_username"} <= set(
        metadata["claims_supported"]
    )
