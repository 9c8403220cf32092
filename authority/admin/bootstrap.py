"""First start and the check every other command makes.

``prepare`` (run by ``authority serve`` and ``authority init`` only) creates the schema, the hash
key and the signing keys, idempotent and safe to repeat. ``require_ready`` is what every other
command runs instead: it creates nothing, not even an empty SQLite file, and says what to run.
"""

from __future__ import annotations

import time
from pathlib import Path

from authority.keys import DirectoryKeyStore, KeyState, lifecycle, private_keys
from authority.settings import Settings
from authority.storage import migrate
from authority.storage.sql import SqlStorage

INIT = "run `authority init` first"


class NotReady(Exception):
    """The database or the keys are not (or no longer) what this release can work with."""


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
        for alg in _algorithms(settings):
            done += lifecycle.initialize(storage, keys, alg, now)
    finally:
        if owned:
            storage.close()
    return done


def require_ready(settings: Settings, storage: SqlStorage, signing_keys: bool = False) -> None:
    """Raise NotReady, with what to run, unless the schema is this release's and, if asked,
    every configured algorithm has an active signing key. Reads only."""
    if storage.engine.dialect.name == "sqlite" and _empty_sqlite(storage.engine.url.database):
        # Connecting would create the file (or write its journal mode into an empty one).
        raise NotReady(f"the database has no schema yet; {INIT}")
    revision = migrate.current(storage.engine)
    if revision is None:
        raise NotReady(f"the database has no schema yet; {INIT}")
    if revision != migrate.HEAD:
        if revision < migrate.HEAD:  # revisions are numbered 0001, 0002, ...
            raise NotReady(
                f"the database schema is at revision {revision}, this release needs "
                f"{migrate.HEAD}; run `authority init` (or `authority serve`), which migrates it"
            )
        raise NotReady(
            f"the database schema is at revision {revision}, newer than this release "
            f"({migrate.HEAD}) knows; run the release that migrated it"
        )
    if signing_keys:
        active = {k.alg for k in storage.list_signing_keys() if k.state == KeyState.ACTIVE}
        missing = [alg for alg in _algorithms(settings) if alg not in active]
        if missing:
            raise NotReady(f"no active {' or '.join(missing)} signing key; {INIT}")


def _empty_sqlite(database: str | None) -> bool:
    if not database or database == ":memory:":
        return True
    path = Path(database)
    return not path.exists() or path.stat().st_size == 0


def _algorithms(settings: Settings) -> list[str]:
    """The algorithms that sign: access tokens' and id_tokens', each once."""
    return list(dict.fromkeys((settings.access_token_alg, settings.id_token_alg)))
