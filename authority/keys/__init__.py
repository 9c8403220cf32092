"""Signing keys: generation, the key stores, the key ring and its JWKS, and the lifecycle."""

from authority.keys.ring import KeyRing, SigningKey, b64url
from authority.keys.store import (
    DatabaseKeyStore,
    DirectoryKeyStore,
    KeyStoreError,
    PrivateKeys,
)
from authority.settings import Settings
from authority.storage import KeyState

__all__ = [
    "DatabaseKeyStore",
    "DirectoryKeyStore",
    "KeyRing",
    "KeyState",
    "KeyStoreError",
    "PrivateKeys",
    "SigningKey",
    "b64url",
    "private_keys",
]


def private_keys(settings: Settings) -> PrivateKeys:
    """The private-key store the settings choose (AUTHORITY_KEYS_STORE)."""
    if settings.keys_store == "database":
        assert settings.keys_passphrase is not None
        return DatabaseKeyStore(settings.keys_passphrase)
    return DirectoryKeyStore(settings.keys_dir, settings.keys_passphrase)
