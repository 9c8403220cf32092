"""Authorization codes that carry what they were issued for (RFC 6749 §4.1.2), sealed.

A code holds its binding (client, redirect URI, PKCE challenge, user, scope, audience,
nonce, sign-in and expiry) encrypted and authenticated with AES-256-GCM under a key derived
from the server's hash key: a browser or client can neither read nor change it, and issuing
one writes nothing. Its single use is enforced where it is redeemed: storage records each
redeemed code (by its keyed hash) and the session its use started, so a second use is found
and what the first issued is revoked.
"""

from __future__ import annotations

import base64
import binascii
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from authority.credentials.hashing import SecretDigest
from authority.storage import AuthorizationCode

# A sealed code is well under this; anything longer is no code of ours and is never decoded.
MAX_LENGTH = 2000
_NONCE = 12
_VERSION = b"\x01"
_AAD = b"authority authorization code v1"


class CodeSealer:
    def __init__(self, digest: SecretDigest) -> None:
        self._digest = digest
        self._aead = AESGCM(digest.derive("authorization code"))

    def seal(self, code: AuthorizationCode) -> str:
        """The code to give the client (``code.code_hash`` is not part of it: it is the
        keyed hash of what this returns, ``open`` gives it back)."""
        payload = json.dumps(
            [
                code.client_id,
                code.redirect_uri,
                code.code_challenge,
                code.sub,
                list(code.scope),
                list(code.audience),
                code.nonce,
                code.auth_time,
                list(code.amr),
                code.browser_session_id,
                code.created_at,
                code.expires_at,
            ],
            separators=(",", ":"),
        ).encode()
        nonce = os.urandom(_NONCE)
        sealed = _VERSION + nonce + self._aead.encrypt(nonce, payload, _AAD)
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")

    def open(self, code: str) -> AuthorizationCode | None:
        """What a code of ours was issued for, or None for anything else (forged, changed,
        truncated, or not a code at all). Expiry is the caller's to check."""
        if not code or len(code) > MAX_LENGTH:
            return None
        try:
            raw = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))
        except (binascii.Error, ValueError):
            return None
        # One spelling per code: the decoder skips stray characters, and a second spelling
        # of a used code must not pass for another code (its hash is what single use keys on).
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != code:
            return None
        if len(raw) <= 1 + _NONCE or raw[:1] != _VERSION:
            return None
        try:
            payload = self._aead.decrypt(raw[1 : 1 + _NONCE], raw[1 + _NONCE :], _AAD)
        except InvalidTag:
            return None
        (client_id, redirect_uri, challenge, sub, scope, audience, nonce, auth_time, amr, bsid,
         created_at, expires_at) = json.loads(payload)  # fmt: skip
        return AuthorizationCode(
            code_hash=self._digest.digest(code),
            client_id=client_id,
            redirect_uri=redirect_uri,
            code_challenge=challenge,
            sub=sub,
            scope=tuple(scope),
            audience=tuple(audience),
            nonce=nonce,
            auth_time=auth_time,
            amr=tuple(amr),
            browser_session_id=bsid,
            created_at=created_at,
            expires_at=expires_at,
        )
