"""FastAPI: a security dependency that checks the bearer token and returns its ``Claims``.

    auth = BearerAuth(verifier)

    @app.get("/items")
    async def items(claims: Annotated[Claims, Security(auth, scopes=["read"])]) -> ...

``Depends(auth)`` asks for a valid token and no scope. Refusals answer as RFC 6750 §3 says:
401 with a Bearer challenge (``invalid_token`` for a bad token), 403 ``insufficient_scope``
with the scopes the route needs. While the authority's metadata or keys cannot be had, or name
another issuer than the verifier's, every token gets 503 (``Retry-After`` when the authority
is down), not 401. Bodies are FastAPI's own ``{"detail": description}``, the same for every
refusal; the error code is in the challenge. The OpenAPI document lists the scheme as HTTP
bearer (JWT) and each operation's scopes.
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security import SecurityScopes
from fastapi.security.base import SecurityBase

from authority.verify import (
    Claims,
    InvalidToken,
    VerificationError,
    Verifier,
    VerifierUnavailable,
    challenge,
)
from authority.verify.bearer import MALFORMED, MISSING, bearer_token

REALM = "api"


class BearerAuth(SecurityBase):
    """A dependency: the verified token's ``Claims``, or the RFC 6750 refusal."""

    def __init__(
        self,
        verifier: Verifier,
        realm: str = REALM,
        scheme_name: str | None = None,
        description: str | None = None,
    ) -> None:
        self.verifier = verifier
        self.realm = realm
        # SecurityBase's two attributes put the scheme in the OpenAPI document.
        self.model = HTTPBearerModel(bearerFormat="JWT", description=description)
        self.scheme_name = scheme_name or type(self).__name__

    async def __call__(self, request: Request, security_scopes: SecurityScopes) -> Claims:
        header = request.headers.get("authorization")
        if header is None:
            raise self.refusal(None)
        token = bearer_token(header)
        if token is None:
            raise self.refusal(InvalidToken(MALFORMED))
        try:
            return await self.verifier.verify_async(token, security_scopes.scopes)
        except (VerificationError, VerifierUnavailable) as error:
            raise self.refusal(error) from None

    def refusal(self, error: VerificationError | VerifierUnavailable | None) -> HTTPException:
        """The HTTPException for a refusal (None: no token was sent, RFC 6750 §3.1)."""
        if isinstance(error, VerifierUnavailable):  # not the token's fault: no challenge
            wait = error.retry_after
            headers = {} if wait is None else {"Retry-After": str(wait)}
            return HTTPException(error.status_code, error.description, headers=headers)
        headers = {"WWW-Authenticate": challenge(error, self.realm)}
        if error is None:
            return HTTPException(401, MISSING, headers=headers)
        return HTTPException(error.status_code, error.description, headers=headers)
