"""Key generation, JWS signing and JWK rendering per algorithm (RFC 7518, RFC 8037).

Signing is done with ``cryptography`` directly on keys parsed once; joserfc renders the JWK
and its RFC 7638 thumbprint. Every algorithm is pinned to one key type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc.jwk import ECKey, OKPKey, RSAKey

from authority.settings import ALGORITHMS
from authority.verify.jwt import P256_ORDER

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
Signer = Callable[[bytes], bytes]
RSA_BITS = 2048


@dataclass(frozen=True)
class Algorithm:
    """One JWS algorithm and the one key type it is pinned to."""

    name: str
    generate: Callable[[], PrivateKey]
    fits: Callable[[PrivateKey], bool]  # is this the key type the algorithm is pinned to?
    signer: Callable[[PrivateKey], Signer]  # given a key that fits
    jwk: type[ECKey] | type[RSAKey] | type[OKPKey]


def _es256_signer(key: PrivateKey) -> Signer:
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    ecdsa = ec.ECDSA(hashes.SHA256())

    def sign_es256(data: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(data, ecdsa))
        s = min(s, P256_ORDER - s)  # low S: the one form verifiers accept
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")  # RFC 7518 §3.4: R || S

    return sign_es256


def _rs256_signer(key: PrivateKey) -> Signer:
    assert isinstance(key, rsa.RSAPrivateKey)
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
    return lambda data: key.sign(data, pkcs1, sha256)


def _eddsa_signer(key: PrivateKey) -> Signer:
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return key.sign


_TABLE = (
    Algorithm(
        "ES256",
        generate=lambda: ec.generate_private_key(ec.SECP256R1()),
        fits=lambda key: (
            isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
        ),
        signer=_es256_signer,
        jwk=ECKey,
    ),
    Algorithm(
        "RS256",
        generate=lambda: rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS),
        fits=lambda key: isinstance(key, rsa.RSAPrivateKey) and key.key_size >= RSA_BITS,
        signer=_rs256_signer,
        jwk=RSAKey,
    ),
    Algorithm(
        "EdDSA",  # Ed25519 (RFC 8037)
        generate=ed25519.Ed25519PrivateKey.generate,
        fits=lambda key: isinstance(key, ed25519.Ed25519PrivateKey),
        signer=_eddsa_signer,
        jwk=OKPKey,
    ),
)
# The names are settings' (AUTHORITY_ACCESS_TOKEN_ALG and AUTHORITY_ID_TOKEN_ALG are checked
# against them, below this package); what each one means is here, once.
TABLE: Mapping[str, Algorithm] = {a.name: a for a in _TABLE}
if tuple(TABLE) != ALGORITHMS:
    raise ImportError(f"the algorithm table {tuple(TABLE)} is not settings' {ALGORITHMS}")


def _algorithm(alg: str) -> Algorithm:
    found = TABLE.get(alg)
    if found is None:
        raise ValueError(f"unsupported algorithm {alg!r}")
    return found


def generate(alg: str) -> PrivateKey:
    return _algorithm(alg).generate()


def matches(alg: str, key: PrivateKey) -> bool:
    """The key type an algorithm is pinned to: a key never signs with another algorithm."""
    found = TABLE.get(alg)
    return found is not None and found.fits(key)


def signer(alg: str, key: PrivateKey) -> Signer:
    """A function from JWS signing input to the raw JWS signature."""
    if not matches(alg, key):
        raise ValueError(f"a {type(key).__name__} cannot sign {alg}")
    return TABLE[alg].signer(key)


def public_jwk(alg: str, key: PrivateKey) -> dict[str, Any]:
    """The public JWK with kid = RFC 7638 thumbprint, ``use: sig`` and the pinned ``alg``."""
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk = _algorithm(alg).jwk.import_key(pem)
    value = dict(jwk.as_dict(private=False))
    value.update(kid=jwk.thumbprint(), use="sig", alg=alg)
    return value


def to_pem(key: PrivateKey, passphrase: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def from_pem(data: bytes, passphrase: bytes | None = None) -> PrivateKey:
    key = serialization.load_pem_private_key(data, password=passphrase)
    if not isinstance(
        key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    ):
        raise ValueError(f"unsupported key type {type(key).__name__}")
    return key
