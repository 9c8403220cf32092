"""Validating our own access tokens, for introspection, revocation and /sessions: the
verifier's checks (``authority.verify.jwt``) against the authority's own key ring."""

from __future__ import annotations

from typing import Any

from authority.keys import KeyRing
from authority.verify.jwt import InvalidToken, TrustedKey, audiences, check

__all__ = ["InvalidAccessToken", "audiences", "looks_like_jwt", "validate"]

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
