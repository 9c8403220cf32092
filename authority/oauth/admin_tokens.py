"""The admin API's bearer tokens (RFC 6750): an access token of ours for the authority itself,
issued by the client_credentials grant to an admin client, with the ``authority:admin`` scope."""

from __future__ import annotations

from authority.errors import InsufficientScope, InvalidToken
from authority.oauth.presented import PresentedTokens
from authority.oauth.scopes import ADMIN
from authority.storage import Client, ClientStore

NEEDS_ADMIN = f"the admin API needs an access token of an admin client with the {ADMIN} scope"


class AdminTokens:
    def __init__(self, tokens: PresentedTokens, clients: ClientStore) -> None:
        self._tokens = tokens
        # Read from storage on every request, never from the client cache: a disabled or
        # deleted admin client loses the API with its next request.
        self._clients = clients

    def authenticate(self, token: str, now: int) -> Client:
        """The admin client a bearer token speaks for: ``invalid_token`` (401) for a token
        that is not a live one of ours or whose client is gone or disabled;
        ``insufficient_scope`` (403) for a good token without the admin scope, or of a
        client that no longer holds it, or one a user signed in with."""
        claims = self._tokens.own_access_claims(token, now)
        client = self._clients.get_client(str(claims.get("client_id", "")))
        if client is None or client.disabled:
            raise InvalidToken("the access token does not belong to an active client")
        granted = str(claims.get("scope", "")).split()
        # RFC 9068 §2.2: a client_credentials token's sub is its client; a user's is not.
        own = claims.get("sub") == client.client_id
        if ADMIN not in granted or ADMIN not in client.scopes or not own:
            raise InsufficientScope(NEEDS_ADMIN, scope=ADMIN)
        return client
