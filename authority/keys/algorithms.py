"""Key generation, JWS signing and JWK rendering per algorithm (RFC 7518, RFC 8037).

Signing is done with ``cryptography`` directly on keys parsed once; joserfc renders the JWK
and its RFC 7638 thumbprint. Every algorithm is pinned to one key type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc.jwk import ECKey, OKPKey, RSAKey

from authority.verify.jwt import P256_ORDER

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
RSA_BITS = 2048


def generate(alg: str) -> PrivateKey:
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unsupported algorithm {alg!r}")


def matches(alg: str, key: PrivateKey) -> bool:
    """The key type an algorithm is pinned to: a key never signs with another algorithm."""
    if alg == "ES256":
        return isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    if alg == "RS256":
        return isinstance(key, rsa.RSAPrivateKey) and key.key_size >= RSA_BITS
    if alg == "EdDSA":
        return isinstance(key, ed25519.Ed25519PrivateKey)
    return False


def signer(alg: str, key: PrivateKey) -> Callable[[bytes], bytes]:
    """A function from JWS signing input to the raw JWS signature."""
    if alg == "ES256" and isinstance(key, ec.EllipticCurvePrivateKey):
        ecdsa = ec.ECDSA(hashes.SHA256())

        def sign_es256(data: bytes) -> bytes:
            r, s = decode_dss_signature(key.sign(data, ecdsa))
            s = min(s, P256_ORDER - s)  # low S: the one form verifiers accept
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")  # RFC 7518 §3.4: R || S

        return sign_es256
    if alg == "RS256" and isinstance(key, rsa.RSAPrivateKey):
        pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
        return lambda data: key.sign(data, pkcs1, sha256)
    if alg == "EdDSA" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign
    raise ValueError(f"a {type(key).__name__} cannot sign {alg}")


def public_jwk(alg: str, key: PrivateKey) -> dict[str, Any]:
    """The public JWK with kid = RFC 7638 thumbprint, ``use: sig`` and the pinned ``alg``."""
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk: ECKey | RSAKey | OKPKey
    if alg == "ES256":
        jwk = ECKey.import_key(pem)
    elif alg == "RS256":
        jwk = RSAKey.import_key(pem)
    else:
        jwk = OKPKey.import_key(pem)
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
