"""The key store on disk: PKCS#8 PEM files (mode 0600) and the secret-hash key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from authority.keys.algorithms import PrivateKey, from_pem, to_pem

HASH_KEY_FILE = "hash.key"


class KeyStoreError(RuntimeError):
    """The key store cannot be used; the message is one line an operator can act on."""


def _write_private(path: Path, data: bytes) -> None:
    """Write atomically with mode 0600: a crash leaves the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


class DirectoryKeyStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, kid: str) -> Path:
        if not kid or "/" in kid or kid.startswith("."):
            raise KeyStoreError(f"refusing an unsafe key id {kid!r}")
        return self.directory / f"{kid}.pem"

    def save(self, kid: str, key: PrivateKey) -> None:
        _write_private(self._path(kid), to_pem(key))

    def load(self, kid: str) -> PrivateKey:
        path = self._path(kid)
        try:
            return from_pem(path.read_bytes())
        except FileNotFoundError:
            raise KeyStoreError(
                f"signing key {kid} is in the database but {path} is missing; restore it from "
                "a backup, or point AUTHORITY_KEYS_DIR at the right folder"
            ) from None
        except (ValueError, TypeError) as exc:
            raise KeyStoreError(f"signing key file {path} cannot be read: {exc}") from None

    def hash_key(self, create: bool) -> bytes:
        """The key under which client secrets and refresh tokens are hashed."""
        path = self.directory / HASH_KEY_FILE
        try:
            raw = path.read_text().strip()
        except FileNotFoundError:
            if not create:
                raise KeyStoreError(
                    f"{path} is missing; run 'authority serve' or 'authority init' once, "
                    "or set AUTHORITY_HASH_KEY"
                ) from None
            raw = secrets.token_hex(32)
            try:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first: use theirs
                return self.hash_key(create=False)
            with os.fdopen(fd, "w") as handle:
                handle.write(raw + "\n")
        try:
            key = bytes.fromhex(raw)
        except ValueError:
            raise KeyStoreError(f"{path} does not hold a hex key") from None
        if len(key) < 32:
            raise KeyStoreError(f"{path} holds fewer than 32 bytes")
        return key
