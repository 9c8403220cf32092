"""What the verifier tests share: keys, RFC 9068 tokens, and an authority behind `fetch`.

Nothing here touches the authority's server code: keys come from ``cryptography``, their
JWKs from joserfc, and tokens are signed by hand so a test can put anything in a header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc.jwk import ECKey, OKPKey, RSAKey

from authority.verify import InvalidToken, Verifier
from authority.verify.verifier import Response
from tests.conftest import FakeClock

ISSUER = "https://auth.example"
AUDIENCE = "https://api.example"
METADATA_URL = f"{ISSUER}/.well-known/oauth-authorization-server"
JWKS_URL = f"{ISSUER}/jwks.json"
NOW = 1_700_000_000
ALGORITHMS = ("ES256", "RS256", "EdDSA")
# The order of the P-256 group (SEC 2 §2.4.2): s and n - s are both valid ECDSA signatures.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def _jwk(private: PrivateKey) -> ECKey | RSAKey | OKPKey:
    """joserfc's key for a ``cryptography`` private key (each key class takes its own kind)."""
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return ECKey.import_key(private)
    if isinstance(private, rsa.RSAPrivateKey):
        return RSAKey.import_key(private)
    return OKPKey.import_key(private)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(value: Any) -> str:
    return b64(json.dumps(value).encode())


@dataclass(frozen=True)
class SigningKey:
    """A private key pinned to one algorithm, named by its RFC 7638 thumbprint."""

    alg: str
    private: PrivateKey
    kid: str

    def jwk(self, private: bool = False) -> dict[str, Any]:
        """The JWKS entry: joserfc's rendering plus ``kid``, ``use`` and the pinned ``alg``."""
        value = dict(_jwk(self.private).as_dict(private=private))
        value.update(kid=self.kid, use="sig", alg=self.alg)
        return value

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def signature(self, data: bytes) -> bytes:
        key = self.private
        if isinstance(key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
            s = min(s, P256_ORDER - s)  # the low-S form, the only one a verifier accepts
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")  # RFC 7518 §3.4
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return key.sign(data)

    def sign(self, claims: Mapping[str, Any], **header: Any) -> str:
        """An access token; ``header`` overrides or adds header parameters (None drops one)."""
        values = {"alg": self.alg, "typ": "at+jwt", "kid": self.kid, **header}
        signing_input = f"{segment(_present(values))}.{segment(claims)}"
        return f"{signing_input}.{b64(self.signature(signing_input.encode()))}"


def _present(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def new_key(alg: str = "ES256") -> SigningKey:
    private: PrivateKey
    if alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(alg)
    kid = _jwk(private).thumbprint()
    return SigningKey(alg, private, kid)


def es256_s(token: str) -> int:
    """The S half of an ES256 token's signature (RFC 7518 §3.4: R || S, 32 bytes each)."""
    signature = base64.urlsafe_b64decode(token.rsplit(".", 1)[1] + "==")
    assert len(signature) == 64
    return int.from_bytes(signature[32:], "big")


def low_s(token: str) -> str:
    """The ES256 token with its signature in the low-S form, the only one verifiers accept
    (other signers, such as joserfc's or PyJWT's, give whichever S the computation gave)."""
    signing_input, _, signature = token.rpartition(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    s = int.from_bytes(raw[32:], "big")
    return f"{signing_input}.{b64(raw[:32] + min(s, P256_ORDER - s).to_bytes(32, 'big'))}"


def ecdsa_twin(token: str) -> str:
    """The same ES256 token with its signature (r, s) turned into the equally valid
    (r, n - s): what anyone can do to a token they hold, without any key. The twin of a
    low-S signature has a high S."""
    signing_input, _, sig = token.rpartition(".")
    signature = base64.urlsafe_b64decode(sig + "==")
    s = int.from_bytes(signature[32:], "big")
    flipped = signature[:32] + (P256_ORDER - s).to_bytes(32, "big")
    return f"{signing_input}.{b64(flipped)}"


def hs256(secret: bytes, claims: Mapping[str, Any], **header: Any) -> str:
    """A token MACed with ``secret``: what an attacker builds from a published public key."""
    values = _present({"alg": "HS256", "typ": "at+jwt", **header})
    signing_input = f"{segment(values)}.{segment(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def claims(now: int = NOW, **changes: Any) -> dict[str, Any]:
    """RFC 9068 §2.2 claims of a read token; a change to None drops that claim."""
    values: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "user-alice",
        "aud": AUDIENCE,
        "exp": now + 300,
        "iat": now,
        "jti": secrets.token_hex(8),
        "client_id": "app",
        "scope": "read",
        **changes,
    }
    return _present(values)


class FakeAuthority:
    """The authority as a verifier sees it: metadata and a JWKS behind the ``fetch`` seam.

    Records every request. ``failure`` makes it raise (an exception) or answer an error
    status (an int); ``etag`` turns on revalidation, answered 304 while it matches.
    """

    def __init__(self, *keys: SigningKey) -> None:
        self.keys: list[SigningKey] = list(keys)
        self.extra_entries: list[Any] = []  # raw JWKS entries published beside the keys
        self.jwks_uri = JWKS_URL
        self.metadata: dict[str, Any] = {"issuer": ISSUER, "jwks_uri": JWKS_URL}
        self.cache_control: str | None = "max-age=300"
        self.etag: str | None = None
        self.failure: BaseException | int | None = None
        self.jwks_body: bytes | None = None  # overrides the rendered key set
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.threads: list[threading.Thread] = []

    def publish(self, *keys: SigningKey) -> None:
        self.keys = list(keys)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk() for key in self.keys] + self.extra_entries}

    def fetches(self, url: str = JWKS_URL) -> int:
        return sum(1 for requested, _ in self.requests if requested == url)

    def __call__(self, url: str, headers: Mapping[str, str]) -> Response:
        self.requests.append((url, dict(headers)))
        self.threads.append(threading.current_thread())
        if isinstance(self.failure, BaseException):
            raise self.failure
        if self.failure is not None:
            return Response(self.failure, b"", {})
        if url == METADATA_URL:
            body = json.dumps(self.metadata).encode()
            return Response(200, body, {"Content-Type": "application/json"})
        if url != self.jwks_uri:
            return Response(404, b"", {})
        sent: dict[str, str] = {"Content-Type": "application/json"}
        if self.cache_control is not None:
            sent["Cache-Control"] = self.cache_control
        if self.etag is not None:
            sent["ETag"] = self.etag
            if headers.get("If-None-Match") == self.etag:
                return Response(304, b"", sent)
        body = self.jwks_body if self.jwks_body is not None else json.dumps(self.jwks()).encode()
        return Response(200, body, sent)


def make_verifier(authority: FakeAuthority, **options: Any) -> Verifier:
    """A verifier for ISSUER and AUDIENCE whose clock stands at NOW unless told otherwise."""
    options.setdefault("clock", FakeClock(NOW))
    return Verifier(ISSUER, AUDIENCE, fetch=authority, **options)


def refusal(verifier: Verifier, token: str) -> tuple[str, int, str]:
    """The wire form of an InvalidToken: error, status and description."""
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    return (caught.value.error, caught.value.status_code, caught.value.description)


def invalid(description: str) -> tuple[str, int, str]:
    return ("invalid_token", 401, description)
