"""The FastAPI dependency: RFC 6750 refusals, claims for a good token, optional import."""

# No `from __future__ import annotations`: FastAPI reads the routes' Annotated parameters,
# and they name the local `auth`.
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Security
from fastapi.testclient import TestClient

from authority.verify import Claims, Verifier
from authority.verify.fastapi import BearerAuth
from authority.verify.verifier import Response
from tests.verify_adapters.tokens import (
    AUDIENCE,
    ISSUER,
    JWKS_URI,
    METADATA_URI,
    REFUSED,
    FakeAuthority,
    invalid_token_challenge,
)


def make_app(verifier: Verifier) -> FastAPI:
    auth = BearerAuth(verifier)
    app = FastAPI()

    def whoami(claims: Claims) -> dict[str, object]:
        return {"sub": claims.sub, "client_id": claims.client_id, "scopes": sorted(claims.scopes)}

    @app.get("/items")
    async def list_items(
        claims: Annotated[Claims, Security(auth, scopes=["read"])],
    ) -> dict[str, object]:
        return whoami(claims)

    @app.post("/items", status_code=201)
    async def add_item(
        claims: Annotated[Claims, Security(auth, scopes=["write"])],
    ) -> dict[str, object]:
        return whoami(claims)

    @app.get("/me")
    def me(claims: Annotated[Claims, Depends(auth)]) -> dict[str, object]:
        return whoami(claims)

    return app


@pytest.fixture
def authority() -> FakeAuthority:
    return FakeAuthority()


@pytest.fixture
def client(authority: FakeAuthority) -> Iterator[TestClient]:
    verifier = Verifier(ISSUER, AUDIENCE, jwks_uri=JWKS_URI, fetch=authority.fetch)
    with TestClient(make_app(verifier)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_without_a_token_answers_401_with_a_bare_challenge(client: TestClient) -> None:
    response = client.get("/items")
    assert response.status_code == 401
    assert response.json() == {"detail": "an access token is required"}
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "authorization", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Bearer a.b.c junk"]
)
def test_another_scheme_or_a_bearer_without_one_token_is_an_invalid_token(
    client: TestClient, authorization: str
) -> None:
    response = client.get("/items", headers={"Authorization": authorization})
    assert response.status_code == 401
    description = "use Authorization: Bearer with an access token"
    assert response.json() == {"detail": description}
    assert response.headers["www-authenticate"] == invalid_token_challenge(description)


@pytest.mark.parametrize("name", REFUSED)
def test_refuses_a_bad_token_with_invalid_token(
    client: TestClient, authority: FakeAuthority, name: str
) -> None:
    token, description = authority.refused_tokens()[name]
    response = client.get("/items", headers=bearer(token))
    assert response.status_code == 401
    assert response.json() == {"detail": description}
    assert response.headers["www-authenticate"] == invalid_token_challenge(description)


def test_a_token_without_the_routes_scope_answers_403_insufficient_scope(
    client: TestClient, authority: FakeAuthority
) -> None:
    response = client.post("/items", headers=bearer(authority.token("read")))
    assert response.status_code == 403
    assert response.json() == {"detail": "the token lacks the scope: write"}
    assert response.headers["www-authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="the token lacks the scope: write", scope="write"'
    )


def test_a_good_token_gives_the_route_its_claims(
    client: TestClient, authority: FakeAuthority
) -> None:
    response = client.get("/items", headers=bearer(authority.token("read profile")))
    assert response.status_code == 200
    assert response.json() == {
        "sub": "user-42",
        "client_id": "app-7",
        "scopes": ["profile", "read"],
    }
    assert "www-authenticate" not in response.headers

    response = client.post("/items", headers=bearer(authority.token("write")))
    assert response.status_code == 201
    assert response.json()["scopes"] == ["write"]


def test_depends_asks_for_a_valid_token_and_no_scope(
    client: TestClient, authority: FakeAuthority
) -> None:
    assert client.get("/me").status_code == 401
    response = client.get("/me", headers=bearer(authority.token("")))
    assert response.status_code == 200
    assert response.json()["scopes"] == []


def test_the_jwks_is_fetched_once_for_many_requests(
    client: TestClient, authority: FakeAuthority
) -> None:
    for _ in range(5):
        assert client.get("/items", headers=bearer(authority.token())).status_code == 200
    assert authority.fetched == [JWKS_URI]


def test_the_openapi_document_lists_the_bearer_scheme_and_each_routes_scopes(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"] == {
        "BearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    assert document["paths"]["/items"]["get"]["security"] == [{"BearerAuth": ["read"]}]
    assert document["paths"]["/items"]["post"]["security"] == [{"BearerAuth": ["write"]}]
    assert document["paths"]["/me"]["get"]["security"] == [{"BearerAuth": []}]


def test_importing_the_verifier_does_not_import_fastapi() -> None:
    code = "import sys, authority.verify; print('fastapi' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.parametrize(
    ("issuer_published", "reachable", "description", "retry_after"),
    [
        (
            "https://other.example",
            True,
            "the API's issuer setting does not match the authority's metadata",
            None,
        ),
        (ISSUER, False, "the authority's metadata cannot be fetched", "10"),
    ],
    ids=["issuer-mismatch", "authority-down"],
)
def test_an_issuer_that_cannot_be_used_answers_503_not_401(
    authority: FakeAuthority,
    issuer_published: str,
    reachable: bool,
    description: str,
    retry_after: str | None,
) -> None:
    def fetch(url: str, headers: Mapping[str, str]) -> Response:
        if not reachable:
            raise OSError("connection refused")
        if url == METADATA_URI:
            body = {"issuer": issuer_published, "jwks_uri": JWKS_URI}
            return Response(200, json.dumps(body).encode(), {})
        return authority.fetch(url, headers)

    with TestClient(make_app(Verifier(ISSUER, AUDIENCE, fetch=fetch))) as client:
        response = client.get("/items", headers=bearer(authority.token()))
    assert (response.status_code, response.json()) == (503, {"detail": description})
    assert response.headers.get("retry-after") == retry_after
    assert "www-authenticate" not in response.headers
