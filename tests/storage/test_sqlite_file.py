"""The SQLite database file holds password hashes and secret digests: only its owner reads it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from authority.storage import migrate
from authority.storage.engine import make_engine


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common 022, under which a file is created 0644 unless its creator says otherwise."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_wal_and_shm_files_are_readable_by_their_owner_only(
    tmp_path: Path, usual_umask: None
) -> None:
    path = tmp_path / "authority.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate.upgrade(engine)
        with engine.connect() as conn:  # WAL mode: a reader keeps -wal and -shm in place
            conn.execute(text("SELECT count(*) FROM clients")).scalar()
            files = {p.name: mode(p) for p in tmp_path.iterdir()}
    finally:
        engine.dispose()
    assert files == {"authority.db": 0o600, "authority.db-wal": 0o600, "authority.db-shm": 0o600}


def test_an_existing_database_keeps_the_mode_its_operator_gave_it(
    tmp_path: Path, usual_umask: None
) -> None:
    path = tmp_path / "authority.db"
    path.touch()
    path.chmod(0o640)  # e.g. readable by a backup group
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    assert mode(path) == 0o640


def test_a_database_in_a_missing_folder_is_still_refused_by_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'authority.db'}")
    try:
        with pytest.raises(OperationalError, match="unable to open database file"):
            engine.connect()
    finally:
        engine.dispose()
    assert not (tmp_path / "missing").exists()
