"""Validating our own access tokens, for introspection, revocation and /sessions: the
verifier's checks (``authority.verify.jwt``) against the authority's own key ring."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authority.hashing import SecretDigest
from authority.keys import KeyRing
from authority.storage import Client, RefreshTokenState, SessionStore
from authority.verify.jwt import InvalidToken, TrustedKey, audiences, check

__all__ = ["InvalidAccessToken", "PresentedTokens", "audiences", "looks_like_jwt", "validate"]

InvalidAccessToken = InvalidToken
MAX_REFRESH_TOKEN_LENGTH = 512


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def validate(token: str, ring: KeyRing, issuer: str, now: int) -> dict[str, Any]:
    """The claims of a valid, unexpired access token of ours (our own clock: no leeway)."""

    def key_for(kid: str) -> TrustedKey | None:
        key = ring.find(kid)
        return TrustedKey(key.kid, key.alg, key.public) if key else None

    return check(token, key_for, issuer, now)


class PresentedTokens:
    """What a token a client presents (to /introspect, /revoke) turns out to be."""

    def __init__(
        self,
        issuer: str,
        ring: Callable[[], KeyRing],
        sessions: SessionStore,
        digest: SecretDigest,
    ) -> None:
        self.issuer = issuer
        self._ring = ring
        self.sessions = sessions
        self._digest = digest

    def access_claims(self, token: str, now: int) -> dict[str, Any] | None:
        """The claims of a valid, unexpired access token of ours (deny-list not consulted)."""
        if not looks_like_jwt(token):
            return None
        try:
            return validate(token, self._ring(), self.issuer, now)
        except InvalidAccessToken:
            return None

    def refresh_state(self, token: str, client: Client) -> RefreshTokenState | None:
        """A refresh token of ``client``'s: to any other client it is nobody's business."""
        if looks_like_jwt(token) or len(token) > MAX_REFRESH_TOKEN_LENGTH:
            return None
        state = self.sessions.inspect_refresh_token(self._digest.digest(token))
        return state if state and state.family.client_id == client.client_id else None
