"""Starlette: an AuthenticationBackend for Starlette's AuthenticationMiddleware.

    app = Starlette(
        routes=[...],
        middleware=bearer_middleware(verifier),
        exception_handlers={HTTPException: bearer_http_errors},
    )

``request.user`` is a ``TokenUser``, ``request.auth.scopes`` the token's scopes. Endpoints
take ``requires("read")`` from this module (Starlette's own ``@requires`` works too, but its
403 cannot say which scope is missing). Refusals answer as RFC 6750 §3 says: 401 with a
Bearer challenge (``invalid_token`` for a bad token), 403 ``insufficient_scope`` naming the
missing scopes in the body and in the challenge's ``scope=``. While the authority's metadata
or keys cannot be had, or name another issuer than the verifier's, every token gets 503
``temporarily_unavailable`` (with ``Retry-After`` when the authority is down), not 401.

Every refusal has one body, RFC 6750's ``{"error", "error_description"}``; a request without a
token gets ``invalid_request`` in the body and, as §3.1 asks, a challenge with no error code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.authentication import requires as starlette_requires
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from authority.verify import (
    Claims,
    InsufficientScope,
    InvalidToken,
    VerificationError,
    Verifier,
    VerifierUnavailable,
    challenge,
)
from authority.verify.bearer import MALFORMED, MISSING, bearer_token

REALM = "api"
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


class TokenUser(BaseUser):
    """The subject of a verified access token: a user, or a client acting for itself."""

    def __init__(self, claims: Claims) -> None:
        self.claims = claims

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.claims.sub

    @property
    def identity(self) -> str:
        return self.claims.sub


class _Refused(AuthenticationError):
    def __init__(self, error: InvalidToken | VerifierUnavailable) -> None:
        super().__init__(error.description)
        self.error = error


def requires(*scopes: str) -> Callable[[Endpoint], Endpoint]:
    """Starlette's ``@requires(scopes)``, remembered on the endpoint so that its 403 names
    the scopes the token lacks (``bearer_http_errors`` reads them back)."""

    def decorator(endpoint: Endpoint) -> Endpoint:
        checked = starlette_requires(list(scopes))(endpoint)
        checked.required_scopes = scopes  # type: ignore[attr-defined]
        return cast("Endpoint", checked)

    return decorator


def _missing_scopes(request: Request) -> tuple[str, ...]:
    """The scopes the route's ``requires`` names and the token lacks; () when unknown."""
    endpoint = request.scope.get("endpoint")
    if isinstance(endpoint, type):  # an HTTPEndpoint: the method's handler carries them
        method = request.method.lower()
        endpoint = getattr(endpoint, "get" if method == "head" else method, None)
    required = getattr(endpoint, "required_scopes", ())
    return tuple(s for s in required if s not in request.auth.scopes)


class BearerBackend(AuthenticationBackend):
    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        header = conn.headers.get("authorization")
        if header is None:
            return None  # anonymous: public routes still work, @requires answers 401
        token = bearer_token(header)
        if token is None:
            raise _Refused(InvalidToken(MALFORMED))
        try:
            claims = await self.verifier.verify_async(token)
        except (InvalidToken, VerifierUnavailable) as error:
            raise _Refused(error) from None
        return AuthCredentials(sorted(claims.scopes)), TokenUser(claims)


def _refusal(error: VerificationError | VerifierUnavailable | None, realm: str = REALM) -> Response:
    """The one shape of every refusal: RFC 6750 §3's error and description, in the body and
    (for 401 and 403) in the challenge."""
    if error is None:  # RFC 6750 §3.1: no token, no error code in the challenge
        body, status = {"error": "invalid_request", "error_description": MISSING}, 401
    else:
        body = {"error": error.error, "error_description": error.description}
        status = error.status_code
    if isinstance(error, VerifierUnavailable):  # not the token's fault: no challenge
        headers = {} if error.retry_after is None else {"Retry-After": str(error.retry_after)}
    else:
        headers = {"WWW-Authenticate": challenge(error, realm)}
    return JSONResponse(body, status, headers=headers)


def on_auth_error(conn: HTTPConnection, exc: Exception) -> Response:
    error = exc.error if isinstance(exc, _Refused) else InvalidToken(str(exc))
    return _refusal(error)


def bearer_middleware(verifier: Verifier) -> list[Middleware]:
    return [
        Middleware(
            AuthenticationMiddleware, backend=BearerBackend(verifier), on_error=on_auth_error
        )
    ]


async def bearer_http_errors(request: Request, exc: Exception) -> Response:
    """Turn ``@requires``' 403 into RFC 6750: 401 with a challenge when no token was sent,
    403 ``insufficient_scope`` naming the scopes the token lacks; other errors stay as
    they are."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 403 and "user" in request.scope:
        if not request.user.is_authenticated:
            return _refusal(None)
        return _refusal(InsufficientScope(_missing_scopes(request)))
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
