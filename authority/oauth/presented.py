"""Reading a token presented to the authority itself (introspection, revocation, /sessions,
/userinfo, logout's id_token_hint): the verifier's checks (``authority.verify.jwt``) against
our own key ring."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authority.credentials.hashing import SecretDigest
from authority.errors import InvalidToken as RefusedToken
from authority.keys import KeyRing
from authority.storage import Client, RefreshTokenState, SessionStore
from authority.verify.jwt import InvalidToken, audiences, check, signed_claims

__all__ = ["PresentedTokens", "audiences", "live", "looks_like_jwt"]

MAX_REFRESH_TOKEN_LENGTH = 512
ID_TOKEN_TYP = ("jwt",)  # as ``tokens.IdTokenMinter`` writes it; never an access token's


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


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
            # Our own clock signed it: no leeway.
            return check(token, self._ring().trusted, self.issuer, now)
        except InvalidToken:
            return None

    def own_access_claims(self, token: str, now: int) -> dict[str, Any]:
        """The claims of a bearer token presented to the authority's own endpoints (RFC 6750
        §3.1): a valid, unexpired access token of ours, meant for the authority (``aud``
        holds the issuer) and not revoked; else ``invalid_token``."""
        claims = self.access_claims(token, now)
        if claims is None:
            raise RefusedToken("the access token is invalid or expired")
        if self.issuer not in audiences(claims):
            raise RefusedToken("the access token is not meant for this server")
        if self.sessions.is_access_token_denied(claims["jti"]):
            raise RefusedToken("the access token was revoked")
        return claims

    def id_token_claims(self, token: str) -> dict[str, Any] | None:
        """The claims of an id_token this server issued, expired or not (OIDC RP-Initiated
        Logout §2: an id_token_hint may have expired): our signature, our ``iss``, a ``sub``
        and an ``aud``. None for anything else."""
        if not looks_like_jwt(token):
            return None
        try:
            claims = signed_claims(token, self._ring().trusted, ID_TOKEN_TYP, "an ID token")
        except InvalidToken:
            return None
        if claims.get("iss") != self.issuer or not isinstance(claims.get("sub"), str):
            return None
        return claims if audiences(claims) else None

    def refresh_state(self, token: str, client: Client) -> RefreshTokenState | None:
        """A refresh token of ``client``'s: to any other client it is nobody's business."""
        state = self.any_refresh_state(token)
        return state if state and state.family.client_id == client.client_id else None

    def any_refresh_state(self, token: str) -> RefreshTokenState | None:
        """A refresh token of any client's (a browser's cookie names no client)."""
        if looks_like_jwt(token) or len(token) > MAX_REFRESH_TOKEN_LENGTH:
            return None
        return self.sessions.inspect_refresh_token(self._digest.digest(token))


def live(state: RefreshTokenState, now: int) -> bool:
    """A refresh token that would still rotate: unused, unexpired, its session not ended."""
    family = state.family
    return (
        state.used_at is None
        and state.expires_at > now
        and family.revoked_at is None
        and family.expires_at > now
    )
