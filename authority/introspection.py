"""Token introspection (RFC 7662): is this token active, and what does it say."""

from __future__ import annotations

from typing import Any

from authority.storage import Client
from authority.validation import PresentedTokens

INACTIVE: dict[str, Any] = {"active": False}
_CLAIMS = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "auth_time", "sid")


class Introspector:
    def __init__(self, tokens: PresentedTokens) -> None:
        self._tokens = tokens

    def introspect(self, token: str, client: Client, now: int) -> dict[str, Any]:
        """RFC 7662 §2.2. ``token_type_hint`` is only a hint (§2.1): the token's own shape
        decides, so a wrong hint never makes a valid token look inactive."""
        claims = self._tokens.access_claims(token, now)
        if claims is not None:
            if self._tokens.sessions.is_access_token_denied(claims["jti"]):
                return INACTIVE
            body = {"active": True, "token_type": "Bearer"}
            body.update((name, claims[name]) for name in _CLAIMS if name in claims)
            return body
        state = self._tokens.refresh_state(token, client)
        if state is None:
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
            "iss": self._tokens.issuer,
            "exp": state.expires_at,
            "iat": state.issued_at,
            "auth_time": family.auth_time,
            "sid": family.family_id,
        }
