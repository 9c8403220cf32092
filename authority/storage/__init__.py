"""Storage: the interfaces the flows need, and one SQL implementation (SQLite, PostgreSQL)."""

from __future__ import annotations

from typing import Protocol

from authority.storage.records import (
    Client,
    Conflict,
    Family,
    Rotation,
    RotationFailure,
    SigningKeyInfo,
    User,
)

__all__ = [
    "Client",
    "ClientStore",
    "Conflict",
    "Family",
    "KeyStore",
    "Rotation",
    "RotationFailure",
    "SessionStore",
    "SigningKeyInfo",
    "User",
    "UserStore",
]


class ClientStore(Protocol):
    def get_client(self, client_id: str) -> Client | None: ...


class UserStore(Protocol):
    def get_user_by_username(self, username: str) -> User | None: ...
    def get_user(self, sub: str) -> User | None: ...
    def set_password_hash(self, sub: str, password_hash: str) -> None: ...


class SessionStore(Protocol):
    def start_family(self, family: Family, token_hash: str, token_expires_at: int) -> None: ...
    def rotate_refresh_token(
        self, presented_hash: str, new_hash: str, client_id: str, now: int, ttl: int
    ) -> Rotation: ...
    def revoke_family(self, family_id: str, now: int) -> None: ...
    def peek_family(self, token_hash: str) -> Family | None: ...


class KeyStore(Protocol):
    """Signing-key metadata (and, for the database store, the sealed private keys)."""

    def list_signing_keys(self) -> list[SigningKeyInfo]: ...
    def add_signing_key(self, key: SigningKeyInfo) -> None: ...
    def swap_signing_keys(
        self,
        retire: str | None,
        promote: str | None,
        new_next: SigningKeyInfo | None,
        now: int,
        removable_at: int,
        revoke: bool = False,
    ) -> bool: ...
    def remove_signing_keys(self, kids: list[str]) -> None: ...
    def delete_signing_key(self, kid: str) -> None: ...
