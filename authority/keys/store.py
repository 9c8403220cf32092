"""Where private keys live: PEM files in a folder, or sealed in the database.

Both hold PKCS#8; with AUTHORITY_KEYS_PASSPHRASE the PEM is encrypted (PKCS#8
EncryptedPrivateKeyInfo, a key-encryption key derived from the passphrase). The folder also
holds the secret-hash key.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Protocol

from authority.keys.algorithms import PrivateKey, from_pem, to_pem
from authority.storage import SigningKeyInfo

HASH_KEY_FILE = "hash.key"
TEMPORARY = ".*.tmp"  # what _write_private writes before its rename


class KeyStoreError(RuntimeError):
    """The key store cannot be used; the message is one line an operator can act on."""


class PrivateKeys(Protocol):
    def seal(self, kid: str, key: PrivateKey) -> bytes | None:
        """Keep ``key``; return what the metadata row must carry (None: kept elsewhere)."""

    def open(self, info: SigningKeyInfo) -> PrivateKey: ...

    def discard(self, kid: str) -> None: ...

    def orphans(self, known: set[str], older_than: int) -> list[str]:
        """Private keys kept here for over ``older_than`` seconds with no metadata row."""

    def sweep(self, older_than: int) -> list[str]:
        """Delete what writes killed over ``older_than`` seconds ago left; return the names."""


def _write_private(path: Path, data: bytes) -> None:
    """Write atomically with mode 0600: a crash leaves the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        # A buffered write writes it all or raises: a short write (a full disk) is retried.
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a failed write leaves nothing behind
        raise


def _decode(kid: str, data: bytes, passphrase: bytes | None, where: str) -> PrivateKey:
    try:
        return from_pem(data, passphrase)
    except TypeError:
        if passphrase:
            raise KeyStoreError(
                f"signing key {kid} in {where} is not encrypted but AUTHORITY_KEYS_PASSPHRASE "
                "is set; unset it or re-encrypt the key"
            ) from None
        raise KeyStoreError(
            f"signing key {kid} in {where} is encrypted; set AUTHORITY_KEYS_PASSPHRASE"
        ) from None
    except ValueError:
        if passphrase:
            raise KeyStoreError(
                f"signing key {kid} in {where} cannot be decrypted: wrong AUTHORITY_KEYS_PASSPHRASE"
            ) from None
        raise KeyStoreError(f"signing key {kid} in {where} cannot be read") from None


class DirectoryKeyStore:
    """AUTHORITY_KEYS_STORE=dir: one ``<kid>.pem`` (0600) per key in AUTHORITY_KEYS_DIR."""

    def __init__(self, directory: Path, passphrase: bytes | None = None) -> None:
        self.directory = directory
        self._passphrase = passphrase

    def __repr__(self) -> str:
        return f"DirectoryKeyStore({str(self.directory)!r})"

    def _path(self, kid: str) -> Path:
        if not kid or "/" in kid or kid.startswith("."):
            raise KeyStoreError(f"refusing an unsafe key id {kid!r}")
        return self.directory / f"{kid}.pem"

    def save(self, kid: str, key: PrivateKey) -> None:
        _write_private(self._path(kid), to_pem(key, self._passphrase))

    def load(self, kid: str) -> PrivateKey:
        path = self._path(kid)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise KeyStoreError(
                f"signing key {kid} is in the database but {path} is missing; restore it from "
                "a backup, or point AUTHORITY_KEYS_DIR at the right folder"
            ) from None
        except OSError as exc:
            raise KeyStoreError(f"signing key file {path} cannot be read: {exc.strerror}") from None
        return _decode(kid, data, self._passphrase, str(path))

    def seal(self, kid: str, key: PrivateKey) -> bytes | None:
        self.save(kid, key)
        return None

    def open(self, info: SigningKeyInfo) -> PrivateKey:
        return self.load(info.kid)

    def discard(self, kid: str) -> None:
        self._path(kid).unlink(missing_ok=True)

    def orphans(self, known: set[str], older_than: int) -> list[str]:
        if not self.directory.is_dir():
            return []
        cutoff = time.time() - older_than
        return sorted(
            p.stem
            for p in self.directory.glob("*.pem")
            if p.stem not in known and p.stat().st_mtime < cutoff
        )

    def sweep(self, older_than: int) -> list[str]:
        """Temporary files of writes killed before their rename: they never held a published
        key (the rename comes before the metadata commit). Recent ones may be under way."""
        if not self.directory.is_dir():
            return []
        cutoff = time.time() - older_than
        removed = []
        for path in sorted(self.directory.glob(TEMPORARY)):
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed.append(path.name)
        return removed

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


class DatabaseKeyStore:
    """AUTHORITY_KEYS_STORE=database: encrypted PEM in the key's own metadata row, for replicas
    that share no disk. Key and metadata are written in one statement, so neither can exist
    without the other."""

    def __init__(self, passphrase: bytes) -> None:
        if not passphrase:
            raise KeyStoreError("AUTHORITY_KEYS_STORE=database needs AUTHORITY_KEYS_PASSPHRASE")
        self._passphrase = passphrase

    def __repr__(self) -> str:
        return "DatabaseKeyStore(passphrase=***)"

    def seal(self, kid: str, key: PrivateKey) -> bytes | None:
        return to_pem(key, self._passphrase)

    def open(self, info: SigningKeyInfo) -> PrivateKey:
        if info.sealed is None:
            raise KeyStoreError(f"signing key {info.kid} has no private key in the database")
        return _decode(info.kid, info.sealed, self._passphrase, "the database")

    def discard(self, kid: str) -> None:
        """The row's private key is cleared by the storage update that retires it."""

    def orphans(self, known: set[str], older_than: int) -> list[str]:
        return []

    def sweep(self, older_than: int) -> list[str]:
        return []
