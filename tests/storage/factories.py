"""Small builders for stored records, so storage tests state only what they are about."""

from __future__ import annotations

import secrets
from typing import Any, TypeVar

from authority.storage import Client, Family, IssuedAccess, User
from authority.storage.sql import SqlStorage

NOW = 1_700_000_000
DAY = 86400
T = TypeVar("T")


def found(value: T | None) -> T:
    """What a lookup returned, asserted to be there."""
    assert value is not None
    return value


def make_client(client_id: str | None = None, **fields: Any) -> Client:
    values: dict[str, Any] = {
        "client_id": client_id or secrets.token_urlsafe(16),
        "name": "app",
        "secret_hash": "0" * 64,
        "grant_types": ("password", "refresh_token"),
        "scopes": ("read", "write"),
        "default_scopes": ("read",),
        "audiences": ("https://api.example",),
        "disabled": False,
        "created_at": NOW,
    }
    values.update(fields)
    return Client(**values)


def make_user(username: str = "alice", **fields: Any) -> User:
    values: dict[str, Any] = {
        "sub": secrets.token_hex(16),
        "username": username,
        "email": None,
        "password_hash": "$argon2id$stored",
        "disabled": False,
        "created_at": NOW,
    }
    values.update(fields)
    return User(**values)


def start_family(
    storage: SqlStorage,
    client: Client,
    user: User,
    *,
    now: int = NOW,
    token_ttl: int = DAY,
    family_ttl: int = 30 * DAY,
    access: IssuedAccess | None = None,
) -> tuple[Family, str]:
    """A new family with its first refresh token; returns the family and the token's hash."""
    family = Family(
        family_id=secrets.token_hex(16),
        client_id=client.client_id,
        sub=user.sub,
        scope=("read",),
        audience=("https://api.example",),
        auth_time=now,
        created_at=now,
        last_used_at=now,
        expires_at=now + family_ttl,
    )
    token_hash = secrets.token_hex(32)
    storage.start_family(family, token_hash, now + token_ttl, access)
    return family, token_hash


def new_hash() -> str:
    return secrets.token_hex(32)
