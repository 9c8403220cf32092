"""Starlette: an AuthenticationBackend for Starlette's AuthenticationMiddleware.

    app = Starlette(
        routes=[...],
        middleware=bearer_middleware(verifier),
        exception_handlers={HTTPException: bearer_http_errors},
    )

``request.user`` is a ``TokenUser``, ``request.auth.scopes`` the token's scopes, and
Starlette's ``@requires("read")`` works as usual. Refusals answer as RFC 6750 §3 says:
401 with a Bearer challenge (``invalid_token`` for a bad token), 403 ``insufficient_scope``.
"""

from __future__ import annotations

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from authority.verify import Claims, InsufficientScope, InvalidToken, Verifier, challenge
from authority.verify.bearer import MALFORMED, bearer_token

REALM = "api"


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
    def __init__(self, error: InvalidToken) -> None:
        super().__init__(error.description)
        self.error = error


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
        except InvalidToken as error:
            raise _Refused(error) from None
        return AuthCredentials(sorted(claims.scopes)), TokenUser(claims)


def _refusal(error: InvalidToken | InsufficientScope | None, realm: str = REALM) -> Response:
    if error is None:  # RFC 6750 §3.1: no token, no error code; just the challenge
        body, status = {"detail": "an access token is required"}, 401
    else:
        body = {"error": error.error, "error_description": error.description}
        status = error.status_code
    return JSONResponse(body, status, headers={"WWW-Authenticate": challenge(error, realm)})


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
    403 ``insufficient_scope`` when the token lacks a scope; other errors stay as they are."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 403 and "user" in request.scope:
        if not request.user.is_authenticated:
            return _refusal(None)
        return _refusal(InsufficientScope(()))
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
