"""The key ring: which key signs for each algorithm, and the JWKS every verifier fetches."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from joserfc.jwk import JWKRegistry

from authority.keys import algorithms
from authority.keys.lifecycle import active_since
from authority.keys.store import KeyStoreError, PrivateKeys
from authority.storage import KeyState, KeyStore, SigningKeyInfo
from authority.verify.jwt import TrustedKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    sign: Callable[[bytes], bytes] = field(repr=False)
    public_jwk: dict[str, Any] = field(repr=False)
    # The encoded protected header, computed once: RFC 9068 §2.1 typ, the pinned alg, kid.
    header_b64: str = field(repr=False)
    # The public key, imported once, pinned to its algorithm: for checking our own tokens.
    trusted: TrustedKey | None = field(repr=False, default=None)


@dataclass(frozen=True)
class KeyTimes:
    """When one algorithm's active key began signing and its next key was published (None:
    there is none): what the scheduled rotation waits for (``lifecycle.rotation_due_at``)."""

    active_since: int | None = None
    next_published: int | None = None


def _load(info: SigningKeyInfo, private: PrivateKeys) -> SigningKey:
    key = private.open(info)
    if not algorithms.matches(info.alg, key):
        raise KeyStoreError(f"signing key {info.kid} does not match its algorithm {info.alg}")
    jwk = algorithms.public_jwk(info.alg, key)
    if jwk["kid"] != info.kid:
        raise KeyStoreError(f"the private key kept for {info.kid} is a different key")
    header = {"alg": info.alg, "typ": "at+jwt", "kid": info.kid}
    return SigningKey(
        kid=info.kid,
        alg=info.alg,
        sign=algorithms.signer(info.alg, key),
        public_jwk=jwk,
        header_b64=b64url(json.dumps(header, separators=(",", ":")).encode()),
        trusted=TrustedKey(info.kid, info.alg, JWKRegistry.import_key(jwk)),
    )


class KeyRing:
    """Published keys parsed once; the JWKS rendered once per change of the key set."""

    def __init__(
        self,
        keys: list[SigningKey],
        active: dict[str, SigningKey],
        times: dict[str, KeyTimes] | None = None,
        promotions: dict[str, int] | None = None,
    ) -> None:
        self.keys = keys
        self._active = active
        self.times = times or {}
        # When the next key of an algorithm is to be promoted (``keys rotate --at-earliest``).
        self.promotions = promotions or {}
        self._by_kid = {k.kid: k for k in keys}
        self.jwks = json.dumps(
            {"keys": [k.public_jwk for k in keys]}, separators=(",", ":")
        ).encode()
        self.etag = '"' + hashlib.sha256(self.jwks).hexdigest()[:32] + '"'

    @classmethod
    def load(
        cls, metadata: KeyStore, private: PrivateKeys, previous: KeyRing | None = None
    ) -> KeyRing:
        """Read the published keys; keys already parsed by ``previous`` are reused."""
        known = {k.kid: k for k in previous.keys} if previous else {}
        infos = [k for k in metadata.list_signing_keys() if k.state in KeyState.published()]
        keys = [known.get(info.kid) or _load(info, private) for info in infos]
        active = {
            k.alg: k for k, info in zip(keys, infos, strict=True) if info.state is KeyState.ACTIVE
        }
        times: dict[str, KeyTimes] = {}
        for info in infos:  # in their listed order: the last of a state counts, as in lifecycle
            found = times.get(info.alg, KeyTimes())
            if info.state is KeyState.ACTIVE:
                times[info.alg] = dataclasses.replace(found, active_since=active_since(info))
            elif info.state is KeyState.NEXT:
                times[info.alg] = dataclasses.replace(found, next_published=info.created_at)
        promotions = {
            i.alg: i.promote_at for i in infos if i.state is KeyState.NEXT and i.promote_at
        }
        return cls(keys, active, times, promotions)

    def trusted(self, kid: str) -> TrustedKey | None:
        """The published key ``kid`` for verifying a token, or None."""
        key = self._by_kid.get(kid)
        return key.trusted if key else None

    def active(self, alg: str) -> SigningKey:
        try:
            return self._active[alg]
        except KeyError:
            raise KeyStoreError(f"no active {alg} signing key") from None

    def algorithms(self) -> list[str]:
        return sorted(self._active)
