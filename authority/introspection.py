"""Token introspection (RFC 7662): is this token active, and what does it say."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authority.hashing import SecretDigest
from authority.keys import KeyRing
from authority.storage import Client, SessionStore
from authority.validation import (
    MAX_REFRESH_TOKEN_LENGTH,
    InvalidAccessToken,
    looks_like_jwt,
    validate,
)

INACTIVE: dict[str, Any] = {"active": False}
_CLAIMS = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "auth_time", "sid")


class Introspector:
    def __init__(
        self,
        issuer: str,
        ring: Callable[[], KeyRing],
        sessions: SessionStore,
        digest: SecretDigest,
    ) -> None:
        self.issuer = issuer
        self._ring = ring
        self._sessions = sessions
        self._digest = digest

    def introspect(self, token: str, client: Client, now: int) -> dict[str, Any]:
        """RFC 7662 §2.2. ``token_type_hint`` is only a hint (§2.1): the token's own shape
        decides, so a wrong hint never makes a valid token look inactive."""
        if looks_like_jwt(token):
            return self._access_token(token, now)
        return self._refresh_token(token, client, now)

    def _access_token(self, token: str, now: int) -> dict[str, Any]:
        try:
            claims = validate(token, self._ring(), self.issuer, now)
        except InvalidAccessToken:
            return INACTIVE
        if self._sessions.is_access_token_denied(claims["jti"]):
            return INACTIVE
        body = {"active": True, "token_type": "Bearer"}
        body.update((name, claims[name]) for name in _CLAIMS if name in claims)
        return body

    def _refresh_token(self, token: str, client: Client, now: int) -> dict[str, Any]:
        if len(token) > MAX_REFRESH_TOKEN_LENGTH:
            return INACTIVE
        state = self._sessions.inspect_refresh_token(self._digest.digest(token))
        # A refresh token is its client's secret: to any other client it is not active.
        if state is None or state.family.client_id != client.client_id:
            return INACTIVE
        family = state.family
        live = (
            state.used_at is None
            and state.expires_at > now
            and family.revoked_at is None
            and family.expires_at > now
        )
        if not live:
            return INACTIVE
        aud = family.audience[0] if len(family.audience) == 1 else list(family.audience)
        return {
            "active": True,
            "token_type": "refresh_token",
            "scope": " ".join(family.scope),
            "client_id": family.client_id,
            "sub": family.sub,
            "aud": aud,
            "iss": self.issuer,
            "exp": state.expires_at,
            "iat": state.issued_at,
            "auth_time": family.auth_time,
            "sid": family.family_id,
        }
