"""First start: schema, hash key and signing keys; idempotent and safe to repeat."""

from __future__ import annotations

import time

from authority.keys import DirectoryKeyStore, lifecycle, private_keys
from authority.settings import Settings
from authority.storage import migrate
from authority.storage.sql import SqlStorage


def prepare(settings: Settings, storage: SqlStorage | None = None) -> list[str]:
    """Bring storage and keys to a usable state; returns what it created or mended."""
    owned = storage is None
    storage = storage or SqlStorage.from_url(settings.database_url, settings.database_timeout)
    done: list[str] = []
    try:
        if not migrate.is_current(storage.engine):
            migrate.upgrade(storage.engine)
            done.append("database schema")
        if settings.hash_key is None and not (settings.keys_dir / "hash.key").exists():
            DirectoryKeyStore(settings.keys_dir).hash_key(create=True)
            done.append(f"secret hash key in {settings.keys_dir}")
        keys = private_keys(settings)
        done += lifecycle.repair(storage, keys)
        now = int(time.time())
        for alg in dict.fromkeys((settings.access_token_alg, settings.id_token_alg)):
            done += lifecycle.initialize(storage, keys, alg, now)
    finally:
        if owned:
            storage.close()
    return done
