"""`authority init` on a fresh folder: the SQLite database it creates is private to its owner."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.cli.support import Run


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Where no database exists yet (the shared fixture's is already migrated)."""
    return f"sqlite:///{tmp_path / 'authority.db'}"


def test_init_creates_the_sqlite_database_readable_by_its_owner_only(
    run_bare: Run, tmp_path: Path
) -> None:
    path = tmp_path / "authority.db"
    assert not path.exists()
    previous = os.umask(0o022)
    try:
        result = run_bare("init", "--json")
    finally:
        os.umask(previous)
    assert result.code == 0, result.err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
