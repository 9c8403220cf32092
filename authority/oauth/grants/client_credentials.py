"""The client credentials grant (RFC 6749 §4.4): a token for the client itself."""

from __future__ import annotations

from typing import ClassVar

from authority.oauth import audience as audiences
from authority.oauth import scopes
from authority.oauth.grants.base import GrantContext, TokenRequest, TokenResponse


class ClientCredentialsGrant:
    grant_type: ClassVar[str] = "client_credentials"
    blocking: ClassVar[bool] = False  # no I/O: a signature and a cached client
    max_threads: ClassVar[int] = 0

    def __init__(self, context: GrantContext) -> None:
        self.context = context

    def issue(self, request: TokenRequest) -> TokenResponse:
        client, params = request.client, request.params
        scope = scopes.grant(
            scopes.parse(params.one("scope")), client.scopes, client.default_scopes
        )
        audience = audiences.requested(
            params.all("resource"), client.audiences, self.context.issuer
        )
        # RFC 9068 §2.2: with no resource owner, sub is the client's own id. No refresh token.
        token = self.context.minter.access_token(
            sub=client.client_id,
            client_id=client.client_id,
            scope=scope,
            audience=audience,
            now=request.now,
            alg=client.access_token_alg,
        )
        return TokenResponse(token, scope)
