"""Checking an RFC 9068 access token against a set of trusted keys (RFC 8725 §3).

Shared by the resource-server verifier and the authority's own introspection. Decoding is
not validating: ``typ``, the algorithm pinned to the key, ``iss``, ``aud``, ``exp``, ``nbf`` and
``iat`` are all checked here; the header's ``alg`` only has to agree with the key's.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwa import JWSAlgModel
from joserfc.jws import JWSRegistry

TYP = ("at+jwt", "application/at+jwt")  # RFC 9068 §4, compared case-insensitively
MAX_TOKEN_LENGTH = 8192
ALLOWED_HEADER = frozenset({"alg", "typ", "kid"})
# The order n of the P-256 group (SEC 2 §2.4.2). An ECDSA signature (r, s) has a twin
# (r, n - s) that verifies as well; only the low half, s <= n / 2, is accepted (and signed),
# so a token has exactly one valid string.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class VerificationError(Exception):
    """A token was refused; ``error`` and ``status_code`` are its RFC 6750 §3.1 wire form."""

    error = "invalid_token"
    status_code = 401

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidToken(VerificationError):
    """Missing, malformed, expired, not ours, or signed by a key we do not trust."""


class InsufficientScope(VerificationError):
    error = "insufficient_scope"
    status_code = 403

    def __init__(self, required: tuple[str, ...]) -> None:
        missing = " ".join(required) or "a scope this resource requires"
        super().__init__(f"the token lacks the scope: {missing}")
        self.required = required


class _Registry(JWSRegistry):
    """joserfc warns on every EdDSA check (RFC 9864 prefers the name Ed25519): noise per
    token, and an exception where warnings are errors. The authority signs EdDSA on purpose."""

    def get_alg(self, name: str) -> JWSAlgModel:
        if name == "EdDSA" and self.allowed and name in self.allowed:
            return self.algorithms[name]
        return super().get_alg(name)


@functools.cache
def _registry(alg: str) -> _Registry:
    """One registry per algorithm, allowing that algorithm only."""
    return _Registry(algorithms=[alg])


@dataclass(frozen=True)
class TrustedKey:
    """A verification key pinned to one algorithm."""

    kid: str
    alg: str
    key: Any  # a joserfc key object


def _segment(value: str) -> Any:
    padded = value + "=" * (-len(value) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, UnicodeError, ValueError, RecursionError):  # "[[[[..." nests deep
        raise InvalidToken("the token is malformed") from None


def unverified_kid(token: str) -> str | None:
    """The header's kid, to pick a key; nothing else of the header is trusted."""
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        return None
    try:
        header = _segment(token.split(".", 1)[0])
    except InvalidToken:
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def check(
    token: str,
    key_for: Callable[[str], TrustedKey | None],
    issuer: str,
    now: float,
    leeway: float = 0,
    audience: str | None = None,
) -> dict[str, Any]:
    """The claims of a valid access token, or InvalidToken."""
    claims = signed_claims(token, key_for, TYP, "an access token")
    _check_claims(claims, issuer, now, leeway, audience)
    return claims


def signed_claims(
    token: str,
    key_for: Callable[[str], TrustedKey | None],
    typ: tuple[str, ...],
    kind: str,
) -> dict[str, Any]:
    """The claims of a compact JWS of type ``typ`` signed by a trusted key, checked for
    nothing else (no ``iss``, ``exp``, ``aud``): InvalidToken otherwise."""
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise InvalidToken("the token is not a compact JWS")
    header = _segment(token.split(".", 1)[0])
    if not isinstance(header, dict):
        raise InvalidToken("the token is malformed")
    if str(header.get("typ", "")).lower() not in typ:
        raise InvalidToken(f"the token is not {kind} (typ)")
    if set(header) - ALLOWED_HEADER:  # jku, x5u, jwk, crit...: never followed
        raise InvalidToken("the token header has unexpected parameters")
    kid = header.get("kid")
    trusted = key_for(kid) if isinstance(kid, str) else None
    # The algorithm is the key's, never the header's choice: a token naming another alg
    # for this kid ("none", HS256 keyed with the public key) fails here.
    if trusted is None or header.get("alg") != trusted.alg:
        raise InvalidToken("the token is signed by an unknown key")
    if trusted.alg == "ES256" and _high_s(token.rsplit(".", 1)[1]):
        raise InvalidToken("the token signature is invalid")
    try:
        verified = jws.deserialize_compact(token, trusted.key, registry=_registry(trusted.alg))
        claims = json.loads(verified.payload)
    except (JoseError, ValueError):
        raise InvalidToken("the token signature is invalid") from None
    if not isinstance(claims, dict):
        raise InvalidToken("the token is malformed")
    return claims


def _high_s(signature: str) -> bool:
    """An ES256 signature (RFC 7518 §3.4: R || S) whose S is in the high half: the twin of
    a valid one. Any other malformed signature is left to the signature check."""
    try:
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except (binascii.Error, ValueError):
        return False
    return len(raw) == 64 and int.from_bytes(raw[32:], "big") > P256_ORDER // 2


def _number(claims: dict[str, Any], name: str, required: bool) -> float | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InvalidToken(f"the token's {name} is missing or not a number")
    return float(value)


def _check_claims(
    claims: dict[str, Any], issuer: str, now: float, leeway: float, audience: str | None
) -> None:
    if claims.get("iss") != issuer:
        raise InvalidToken("the token is from another issuer")
    exp = _number(claims, "exp", True)
    iat = _number(claims, "iat", True)
    nbf = _number(claims, "nbf", False)
    assert exp is not None and iat is not None
    if now >= exp + leeway:
        raise InvalidToken("the token has expired")
    if iat > now + leeway or (nbf is not None and nbf > now + leeway):
        raise InvalidToken("the token is not valid yet")
    if audience is not None and audience not in audiences(claims):
        raise InvalidToken("the token is meant for another audience")
    for name in ("sub", "jti", "client_id"):
        if not isinstance(claims.get(name), str):
            raise InvalidToken(f"the token has no {name}")
    if not isinstance(claims.get("scope", ""), str):
        raise InvalidToken("the token's scope is not a string")


def audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    return [a for a in aud if isinstance(a, str)] if isinstance(aud, list) else []
