"""Token minting: RFC 9068 JWT access tokens, OIDC id_tokens and opaque refresh tokens."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from authlib.oidc.core.util import create_half_hash

from authority.credentials.hashing import new_secret
from authority.keys import KeyRing, b64url
from authority.storage import Client, User


@dataclass(frozen=True)
class AccessToken:
    token: str
    jti: str
    expires_at: int  # its exp claim
    expires_in: int  # for the token response (RFC 6749 §5.1)


class Minter:
    def __init__(self, issuer: str, ttl: int, default_alg: str, ring: Callable[[], KeyRing]):
        self.issuer = issuer
        self.ttl = ttl
        self.default_alg = default_alg
        self._ring = ring

    def check_signing(self, alg: str | None = None) -> None:
        """Raise now what signing would raise (keys unconfirmed, no active key): for a grant
        to call before it commits something a failed signature must not undo."""
        self._ring().active(alg or self.default_alg)

    def expires_at(self, now: int) -> int:
        """The ``exp`` of an access token minted at ``now``: for a grant that must record it
        before minting (the refresh grant's rotation stores it with the successor)."""
        return now + self.ttl

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
        extra: Mapping[str, Any] | None = None,
    ) -> AccessToken:
        """RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti, scope (+ auth_time, amr),
        and the claims hook's ``extra``, which never replace one of these."""
        key = self._ring().active(alg or self.default_alg)
        jti = jti or new_jti()
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": sub,
            "aud": audience[0] if len(audience) == 1 else list(audience),
            "exp": self.expires_at(now),
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
        if extra:
            for name, value in extra.items():
                claims.setdefault(name, value)
        payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{key.header_b64}.{payload}"
        signature = b64url(key.sign(signing_input.encode("ascii")))
        return AccessToken(
            token=f"{signing_input}.{signature}",
            jti=jti,
            expires_at=claims["exp"],
            expires_in=claims["exp"] - now,
        )


def new_jti() -> str:
    return secrets.token_urlsafe(16)


def new_refresh_token() -> str:
    """Opaque, 256 bits of randomness; only its keyed hash is stored."""
    return new_secret()


class IdTokenMinter:
    """OIDC Core §2 id_tokens: for the client (``aud`` = client_id), signed with the
    id_token algorithm (RS256 by default, which every OIDC relying party supports)."""

    def __init__(self, issuer: str, ttl: int, alg: str, ring: Callable[[], KeyRing]) -> None:
        self.issuer = issuer
        self.ttl = ttl
        self.alg = alg
        self._ring = ring

    def issue(
        self,
        user: User,
        client: Client,
        scope: tuple[str, ...],
        now: int,
        auth_time: int,
        *,
        amr: tuple[str, ...] = ("pwd",),
        nonce: str | None = None,
        sid: str | None = None,
        access_token: str | None = None,
    ) -> str:
        """OIDC Core §2 and §3.1.3.6: ``nonce`` as the authorization request sent it, ``sid``
        the browser session (OIDC Front-/Back-Channel Logout), ``at_hash`` of the access
        token issued beside it."""
        key = self._ring().active(self.alg)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user.sub,
            "aud": client.client_id,
            "exp": now + self.ttl,
            "iat": now,
            "auth_time": auth_time,
            "amr": list(amr),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if sid is not None:
            claims["sid"] = sid
        if access_token is not None:
            # The left half of the access token's hash under the id_token's algorithm.
            half = create_half_hash(access_token, key.alg)
            assert isinstance(half, bytes)
            claims["at_hash"] = half.decode("ascii")
        claims.update(user_claims(user, scope))
        header = {"alg": key.alg, "typ": "JWT", "kid": key.kid}
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        return f"{signing_input}.{b64url(key.sign(signing_input.encode('ascii')))}"


def user_claims(user: User, scope: tuple[str, ...] | frozenset[str]) -> dict[str, Any]:
    """OIDC Core §5.4: the claims each standard scope releases, for id_tokens and userinfo."""
    claims: dict[str, Any] = {}
    if "profile" in scope:
        claims["preferred_username"] = user.username
    if "email" in scope and user.email:
        claims["email"] = user.email
        claims["email_verified"] = user.email_verified
    return claims


CLAIMS_SUPPORTED = (
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "amr",
    "jti",
    "client_id",
    "scope",
    "sid",
    "nonce",
    "at_hash",
    "preferred_username",
    "email",
    "email_verified",
)
