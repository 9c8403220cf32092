"""Token introspection (RFC 7662): is this token active, and what does it say."""

from __future__ import annotations

from typing import Any

from authority.oauth.presented import PresentedTokens, audiences, live
from authority.storage import Client, ClientStore

INACTIVE: dict[str, Any] = {"active": False}
_CLAIMS = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "auth_time", "sid")


class Introspector:
    def __init__(self, tokens: PresentedTokens, clients: ClientStore) -> None:
        self._tokens = tokens
        self._clients = clients

    def introspect(self, token: str, client: Client, now: int) -> dict[str, Any]:
        """RFC 7662 §2.2. ``token_type_hint`` is only a hint (§2.1): the token's own shape
        decides, so a wrong hint never makes a valid token look inactive."""
        return self.answer(token, self.access_claims(token, now), client, now)

    def access_claims(self, token: str, now: int) -> dict[str, Any] | None:
        """The first half of ``introspect``: the signature and claims of an access token,
        CPU only, no storage (the HTTP edge runs it on the event loop)."""
        return self._tokens.access_claims(token, now)

    def answer(
        self, token: str, claims: dict[str, Any] | None, client: Client, now: int
    ) -> dict[str, Any]:
        """The second half of ``introspect``, given ``access_claims``: the deny-list or the
        refresh token looked up in storage (the HTTP edge runs it in a thread)."""
        if claims is not None:
            if not may_introspect(client, claims):
                return INACTIVE  # the same answer as for a token that is not ours: no hint
            if self._tokens.sessions.is_access_token_denied(claims["jti"]):
                return INACTIVE
            if not self._client_is_live(claims["client_id"], client):
                # A client_credentials token is in no session: removing its client is what
                # ends it (a user's token was denied when its session ended with the client).
                return INACTIVE
            body = {"active": True, "token_type": "Bearer"}
            body.update((name, claims[name]) for name in _CLAIMS if name in claims)
            return body
        state = self._tokens.refresh_state(token, client)
        if state is None:
            return INACTIVE
        family = state.family
        if not live(state, now):
            return INACTIVE
        aud = family.audience[0] if len(family.audience) == 1 else list(family.audience)
        return {
            "active": True,
            "token_type": "refresh_token",
            "scope": " ".join(family.scope),
            "client_id": family.client_id,
            "sub": family.sub,
            "aud": aud,
            "iss": self._tokens.issuer,
            "exp": state.expires_at,
            "iat": state.issued_at,
            "auth_time": family.auth_time,
            "sid": family.family_id,
        }

    def _client_is_live(self, client_id: str, asking: Client) -> bool:
        """The token's client still exists and is enabled (the asking client is: it just
        authenticated)."""
        if client_id == asking.client_id:
            return True
        owner = self._clients.get_client(client_id)
        return owner is not None and not owner.disabled


def may_introspect(client: Client, claims: dict[str, Any]) -> bool:
    """RFC 7662 §4 leaves it to policy: an access token is shown to the client it was issued
    to, to a resource server registered for one of its audiences, and to a client marked
    ``introspect_any``. Refresh tokens are shown to their own client only (PresentedTokens)."""
    return (
        client.introspect_any
        or claims["client_id"] == client.client_id
        or any(aud in client.resource_servers for aud in audiences(claims))
    )
