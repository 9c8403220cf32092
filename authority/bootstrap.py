"""First start: schema, hash key and first signing key; idempotent and safe to repeat."""

from __future__ import annotations

import time

from authority.keys import DirectoryKeyStore, ensure_active_key
from authority.settings import Settings
from authority.storage import migrate
from authority.storage.sql import SqlStorage


def prepare(settings: Settings, storage: SqlStorage | None = None) -> list[str]:
    """Bring storage and keys to a usable state; returns what it created, for the log."""
    owned = storage is None
    storage = storage or SqlStorage.from_url(settings.database_url)
    done: list[str] = []
    try:
        if not migrate.is_current(storage.engine):
            migrate.upgrade(storage.engine)
            done.append("database schema")
        store = DirectoryKeyStore(settings.keys_dir)
        if settings.hash_key is None and not (settings.keys_dir / "hash.key").exists():
            store.hash_key(create=True)
            done.append(f"secret hash key in {settings.keys_dir}")
        if ensure_active_key(storage, store, settings.access_token_alg, int(time.time())):
            done.append(f"{settings.access_token_alg} signing key")
    finally:
        if owned:
            storage.close()
    return done
