"""Fixtures of the end-to-end tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import empty_postgres


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
) -> str:
    """A migrated, empty database on each backend that a module's tests share, for a module
    that starts its servers once (``database_url`` gives each test its own)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("module-db") / "authority.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    empty_postgres(url)
    return url
