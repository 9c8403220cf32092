"""Validating our own access tokens (RFC 9068 §4, RFC 8725 §3): for introspection, revocation
and the authority's own bearer endpoints. Decoding is not validating: every check is here."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError

from authority.keys import KeyRing

TYP = ("at+jwt", "application/at+jwt")  # RFC 9068 §4: compare case-insensitively
MAX_TOKEN_LENGTH = 8192
MAX_REFRESH_TOKEN_LENGTH = 512


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


class InvalidAccessToken(Exception):
    """Not a valid, unexpired access token of ours; the reason is for logs, never the wire."""


def _segment(value: str) -> Any:
    padded = value + "=" * (-len(value) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidAccessToken("malformed segment") from None


def validate(token: str, ring: KeyRing, issuer: str, now: int, leeway: int = 0) -> dict[str, Any]:
    """The claims of a valid access token; raises InvalidAccessToken otherwise."""
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise InvalidAccessToken("not a compact JWS")
    header = _segment(token.split(".", 1)[0])
    if not isinstance(header, dict):
        raise InvalidAccessToken("header is not an object")
    if str(header.get("typ", "")).lower() not in TYP:
        raise InvalidAccessToken("typ is not at+jwt")
    key = ring.find(str(header.get("kid", "")))
    # The algorithm comes from our key, never from the header (RFC 8725 §3.1): a token
    # naming another alg for this kid ("none", HS256 keyed with the public key) fails here.
    if key is None or header.get("alg") != key.alg:
        raise InvalidAccessToken("unknown kid or algorithm not pinned to it")
    if set(header) - {"alg", "typ", "kid"}:
        raise InvalidAccessToken("unexpected header parameters")
    try:
        verified = jws.deserialize_compact(token, key.public, algorithms=[key.alg])
    except (JoseError, ValueError):
        raise InvalidAccessToken("bad signature") from None
    try:
        claims = json.loads(verified.payload)
    except ValueError:
        raise InvalidAccessToken("payload is not JSON") from None
    if not isinstance(claims, dict):
        raise InvalidAccessToken("payload is not an object")
    if claims.get("iss") != issuer:
        raise InvalidAccessToken("issuer mismatch")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int):
        raise InvalidAccessToken("exp and iat must be integers")
    if exp <= now - leeway:
        raise InvalidAccessToken("expired")
    if iat > now + leeway:
        raise InvalidAccessToken("issued in the future")
    for name in ("sub", "jti", "client_id"):
        if not isinstance(claims.get(name), str):
            raise InvalidAccessToken(f"{name} missing")
    return claims


def audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    return [a for a in aud if isinstance(a, str)] if isinstance(aud, list) else []
