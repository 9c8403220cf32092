"""Signing keys: generation, the on-disk store, the key ring and its JWKS."""

from authority.keys.ring import KeyRing, SigningKey, b64url, ensure_active_key
from authority.keys.store import DirectoryKeyStore, KeyStoreError

__all__ = [
    "DirectoryKeyStore",
    "KeyRing",
    "KeyStoreError",
    "SigningKey",
    "b64url",
    "ensure_active_key",
]
