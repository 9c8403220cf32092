"""Token minting: RFC 9068 JWT access tokens and opaque refresh tokens."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authority.hashing import new_secret
from authority.keys import KeyRing, b64url


@dataclass(frozen=True)
class AccessToken:
    token: str
    jti: str
    expires_in: int


class Minter:
    def __init__(self, issuer: str, ttl: int, default_alg: str, ring: Callable[[], KeyRing]):
        self.issuer = issuer
        self.ttl = ttl
        self.default_alg = default_alg
        self._ring = ring

    def access_token(
        self,
        *,
        sub: str,
        client_id: str,
        scope: tuple[str, ...],
        audience: tuple[str, ...],
        now: int,
        auth_time: int | None = None,
        amr: tuple[str, ...] = (),
        alg: str | None = None,
        jti: str | None = None,
        sid: str | None = None,
    ) -> AccessToken:
        """RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti, scope (+ auth_time, amr)."""
        key = self._ring().active(alg or self.default_alg)
        jti = jti or new_jti()
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": sub,
            "aud": audience[0] if len(audience) == 1 else list(audience),
            "exp": now + self.ttl,
            "iat": now,
            "jti": jti,
            "client_id": client_id,
            "scope": " ".join(scope),
        }
        if auth_time is not None:
            claims["auth_time"] = auth_time
        if amr:
            claims["amr"] = list(amr)
        if sid is not None:
            claims["sid"] = sid  # the session (refresh-token family) the token belongs to
        payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{key.header_b64}.{payload}"
        signature = b64url(key.sign(signing_input.encode("ascii")))
        return AccessToken(token=f"{signing_input}.{signature}", jti=jti, expires_in=self.ttl)


def new_jti() -> str:
    return secrets.token_urlsafe(16)


def new_refresh_token() -> str:
    """Opaque, 256 bits of randomness; only its keyed hash is stored."""
    return new_secret()
