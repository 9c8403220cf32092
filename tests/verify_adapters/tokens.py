"""A stand-in for the authority: an ES256 key, its JWKS served through a fake fetch, and
RFC 9068 access tokens signed with it (or made wrong on purpose)."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.jwk import ECKey

from authority.verify.verifier import Response
from tests.verify.support import low_s

ISSUER = "https://auth.example"
AUDIENCE = "https://api.example"
JWKS_URI = f"{ISSUER}/jwks.json"
METADATA_URI = f"{ISSUER}/.well-known/oauth-authorization-server"


def new_key() -> ECKey:
    return ECKey.import_key(ec.generate_private_key(ec.SECP256R1()))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class FakeAuthority:
    """Signs tokens with its key ``k1``; ``fetch`` answers the metadata and JWKS requests."""

    def __init__(self) -> None:
        self.key = new_key()
        self.kid = "k1"
        self.fetched: list[str] = []

    def fetch(self, url: str, headers: Mapping[str, str]) -> Response:
        self.fetched.append(url)
        if url == METADATA_URI:
            document: dict[str, Any] = {"issuer": ISSUER, "jwks_uri": JWKS_URI}
        elif url == JWKS_URI:
            public = self.key.as_dict(private=False, kid=self.kid, alg="ES256", use="sig")
            document = {"keys": [public]}
        else:
            return Response(404, b"", {})
        return Response(200, json.dumps(document).encode(), {"Cache-Control": "max-age=300"})

    def claims(self, scope: str = "read", **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": "user-42",
            "aud": AUDIENCE,
            "exp": now + 300,
            "iat": now,
            "jti": secrets.token_hex(8),
            "client_id": "app-7",
            "scope": scope,
        }
        claims.update(changes)
        return claims

    def token(
        self,
        scope: str = "read",
        *,
        key: ECKey | None = None,
        kid: str | None = None,
        **changes: Any,
    ) -> str:
        header = {"alg": "ES256", "typ": "at+jwt", "kid": kid or self.kid}
        payload = json.dumps(self.claims(scope, **changes)).encode()
        return low_s(jws.serialize_compact(header, payload, key or self.key))

    def unsigned_token(self, scope: str = "read") -> str:
        """``alg: none``: a token anyone can forge."""
        header = {"alg": "none", "typ": "at+jwt", "kid": self.kid}
        payload = self.claims(scope)
        return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}."

    def refused_tokens(self) -> dict[str, tuple[str, str]]:
        """Tokens a resource server must refuse, each with the description it answers."""
        now = int(time.time())
        good = self.token()
        head, _, signature = good.split(".")
        tampered = b64(json.dumps(self.claims("read admin")).encode())
        return {
            "expired": (
                self.token(exp=now - 3600, iat=now - 7200),
                "the token has expired",
            ),
            "other issuer": (
                self.token(iss="https://evil.example"),
                "the token is from another issuer",
            ),
            "other audience": (
                self.token(aud="https://other.example"),
                "the token is meant for another audience",
            ),
            "alg none": (self.unsigned_token(), "the token is signed by an unknown key"),
            "unknown kid": (
                self.token(key=new_key(), kid="k9"),
                "the token is signed by an unknown key",
            ),
            "other key, our kid": (
                self.token(key=new_key()),
                "the token signature is invalid",
            ),
            "tampered claims": (f"{head}.{tampered}.{signature}", "the token signature is invalid"),
            "not a JWS": ("not-a-token", "the token is not a compact JWS"),
        }


REFUSED = (
    "expired",
    "other issuer",
    "other audience",
    "alg none",
    "unknown kid",
    "other key, our kid",
    "tampered claims",
    "not a JWS",
)


def invalid_token_challenge(description: str) -> str:
    return f'Bearer realm="api", error="invalid_token", error_description="{description}"'
