"""The Starlette adapter: Bearer authentication, @requires, RFC 6750 refusals."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from authority.verify import Verifier
from authority.verify.starlette import TokenUser, bearer_http_errors, bearer_middleware
from authority.verify.starlette import requires as requires_scopes
from tests.verify.support import (
    AUDIENCE,
    ISSUER,
    FakeAuthority,
    SigningKey,
    claims,
    make_verifier,
    new_key,
)

NO_TOKEN_CHALLENGE = 'Bearer realm="api"'


async def public(request: Request) -> JSONResponse:
    return JSONResponse({"public": True, "authenticated": request.user.is_authenticated})


@requires("read")
async def read(request: Request) -> JSONResponse:
    user = request.user
    assert isinstance(user, TokenUser)
    return JSONResponse(
        {
            "identity": user.identity,
            "display_name": user.display_name,
            "client_id": user.claims.client_id,
            "scopes": request.auth.scopes,
        }
    )


@requires_scopes("write", "audit")
async def write(request: Request) -> JSONResponse:
    return JSONResponse({"written": True})


@requires("write")  # Starlette's own: it cannot say which scope is missing
async def legacy(request: Request) -> JSONResponse:
    return JSONResponse({"written": True})


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return new_key("ES256")


@pytest.fixture
def authority(key: SigningKey) -> FakeAuthority:
    return FakeAuthority(key)


def make_api(verifier: Verifier) -> TestClient:
    app = Starlette(
        routes=[
            Route("/public", public),
            Route("/read", read),
            Route("/write", write, methods=["POST"]),
            Route("/legacy", legacy, methods=["POST"]),
        ],
        middleware=bearer_middleware(verifier),
        exception_handlers={HTTPException: bearer_http_errors},
    )
    return TestClient(app, base_url="https://api.example")


@pytest.fixture
def api(authority: FakeAuthority) -> Iterator[TestClient]:
    with make_api(make_verifier(authority)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_refused(
    response: httpx2.Response, status: int, error: str, description: str, scope: str = ""
) -> None:
    """An RFC 6750 §3 refusal: the error in the body and, the same, in the challenge."""
    assert (response.status_code, response.json()) == (
        status,
        {"error": error, "error_description": description},
    )
    assert response.headers["content-type"] == "application/json"
    assert response.headers["www-authenticate"] == (
        f'Bearer realm="api", error="{error}", error_description="{description}"'
        + (f', scope="{scope}"' if scope else "")
    )


# -- refused ---------------------------------------------------------------------------------


def test_asks_for_a_token_on_a_protected_route_without_one(api: TestClient) -> None:
    response = api.get("/read")
    # The body has the shape of every other refusal; the challenge, as RFC 6750 §3.1 asks,
    # carries no error code for a request that sent no token.
    assert (response.status_code, response.json()) == (
        401,
        {"error": "invalid_request", "error_description": "an access token is required"},
    )
    assert response.headers["www-authenticate"] == NO_TOKEN_CHALLENGE


def test_refuses_a_bad_token_with_invalid_token(api: TestClient) -> None:
    response = api.get("/read", headers=bearer("not-a-token"))
    assert_refused(response, 401, "invalid_token", "the token is not a compact JWS")


def test_refuses_an_expired_token_with_invalid_token(api: TestClient, key: SigningKey) -> None:
    token = key.sign(claims(exp=1_000, iat=900))
    response = api.get("/read", headers=bearer(token))
    assert_refused(response, 401, "invalid_token", "the token has expired")


@pytest.mark.parametrize(
    "authorization",
    ["Basic YXBwOnNlY3JldA==", "Token abc", "Bearer", "Bearer   ", "bearertoken", "Bearer a b"],
)
def test_refuses_an_authorization_that_is_not_a_bearer_token(
    api: TestClient, authorization: str
) -> None:
    response = api.get("/read", headers={"Authorization": authorization})
    assert_refused(response, 401, "invalid_token", "use Authorization: Bearer with an access token")


def test_refuses_a_bad_token_even_on_a_public_route(api: TestClient) -> None:
    response = api.get("/public", headers=bearer("not-a-token"))
    assert_refused(response, 401, "invalid_token", "the token is not a compact JWS")


def test_refuses_a_token_without_the_routes_scopes_naming_those_it_lacks(
    api: TestClient, key: SigningKey
) -> None:
    response = api.post("/write", headers=bearer(key.sign(claims(scope="read audit"))))
    assert_refused(response, 403, "insufficient_scope", "the token lacks the scope: write", "write")
    response = api.post("/write", headers=bearer(key.sign(claims(scope="read"))))
    description = "the token lacks the scope: write audit"
    assert_refused(response, 403, "insufficient_scope", description, "write audit")


def test_starlettes_own_requires_still_answers_insufficient_scope_without_naming_it(
    api: TestClient, key: SigningKey
) -> None:
    response = api.post("/legacy", headers=bearer(key.sign(claims(scope="read"))))
    description = "the token lacks the scope: a scope this resource requires"
    assert_refused(response, 403, "insufficient_scope", description)


@pytest.mark.parametrize(
    ("metadata", "failure", "description", "retry_after"),
    [
        (
            {"issuer": "https://other.example", "jwks_uri": "https://auth.example/jwks.json"},
            None,
            "the API's issuer setting does not match the authority's metadata",
            None,
        ),
        (None, OSError("refused"), "the authority's metadata cannot be fetched", "10"),
    ],
    ids=["issuer-mismatch", "authority-down"],
)
def test_answers_503_not_401_while_the_issuers_metadata_cannot_be_used(
    authority: FakeAuthority,
    key: SigningKey,
    metadata: dict[str, str] | None,
    failure: BaseException | None,
    description: str,
    retry_after: str | None,
) -> None:
    if metadata is not None:
        authority.metadata = metadata
    authority.failure = failure
    with make_api(Verifier(ISSUER, AUDIENCE, fetch=authority)) as api:
        response = api.get("/read", headers=bearer(key.sign(claims())))
        assert (response.status_code, response.json()) == (
            503,
            {"error": "temporarily_unavailable", "error_description": description},
        )
        assert response.headers.get("retry-after") == retry_after
        assert "www-authenticate" not in response.headers  # the token is not in question
        assert api.get("/read").status_code == 401  # no token: still asked for one


def test_answers_503_with_retry_after_while_the_keys_cannot_be_fetched(
    authority: FakeAuthority, key: SigningKey
) -> None:
    authority.failure = 503
    with make_api(make_verifier(authority, jwks_uri="https://auth.example/jwks.json")) as api:
        response = api.get("/read", headers=bearer(key.sign(claims())))
    assert (response.status_code, response.json()) == (
        503,
        {
            "error": "temporarily_unavailable",
            "error_description": "the authority's keys cannot be fetched",
        },
    )
    assert response.headers["retry-after"] == "10"


# -- unaffected ------------------------------------------------------------------------------


def test_serves_a_public_route_without_a_token(api: TestClient) -> None:
    response = api.get("/public")
    assert (response.status_code, response.json()) == (
        200,
        {"public": True, "authenticated": False},
    )
    assert "www-authenticate" not in response.headers


def test_leaves_a_404_for_an_unknown_path_alone(api: TestClient, key: SigningKey) -> None:
    for headers in ({}, bearer(key.sign(claims()))):
        response = api.get("/nowhere", headers=headers)
        assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})
        assert "www-authenticate" not in response.headers


def test_leaves_a_405_and_its_allow_header_alone(api: TestClient, key: SigningKey) -> None:
    response = api.get("/write", headers=bearer(key.sign(claims(scope="write"))))
    assert (response.status_code, response.json()) == (405, {"detail": "Method Not Allowed"})
    assert response.headers["allow"] == "POST"
    assert "www-authenticate" not in response.headers


# -- accepted --------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_serves_a_read_route_to_a_read_token(api: TestClient, key: SigningKey, scheme: str) -> None:
    token = key.sign(claims(scope="read profile"))
    response = api.get("/read", headers={"Authorization": f"{scheme} {token}"})
    assert (response.status_code, response.json()) == (
        200,
        {
            "identity": "user-alice",
            "display_name": "user-alice",
            "client_id": "app",
            "scopes": ["profile", "read"],
        },
    )


def test_serves_a_write_route_to_a_write_token(api: TestClient, key: SigningKey) -> None:
    response = api.post("/write", headers=bearer(key.sign(claims(scope="write audit"))))
    assert (response.status_code, response.json()) == (200, {"written": True})


def test_serves_a_public_route_to_a_token_holder_as_authenticated(
    api: TestClient, key: SigningKey
) -> None:
    response = api.get("/public", headers=bearer(key.sign(claims())))
    assert response.json() == {"public": True, "authenticated": True}


def test_fetches_the_keys_once_for_many_requests(
    api: TestClient, authority: FakeAuthority, key: SigningKey
) -> None:
    for _ in range(5):
        assert api.get("/read", headers=bearer(key.sign(claims()))).status_code == 200
    assert authority.fetches() == 1
