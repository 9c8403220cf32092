"""Run the operator CLI in-process against the fixture database, capturing its output.

``run`` works on an initialised install, copied from one made by ``prepare`` once per session
(creating keys, RSA above all, is what ``authority init`` spends its time on); ``run_bare``
on the fixture's migrated database with no keys at all, for the commands that set one up.
"""

from __future__ import annotations

import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from authority.admin.bootstrap import prepare
from authority.cli import main
from authority.settings import Settings
from authority.storage import SigningKeyInfo
from authority.storage.sql import SqlStorage
from tests.cli.support import Result, Run


@dataclass(frozen=True)
class Install:
    """What ``authority init`` leaves behind: a keys folder, and the keys' rows."""

    keys_dir: Path
    keys: list[SigningKeyInfo]


@pytest.fixture(scope="session")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Install:
    root = tmp_path_factory.mktemp("cli-install")
    settings = Settings(database_url=f"sqlite:///{root / 'authority.db'}", keys_dir=root / "keys")
    storage = SqlStorage.from_url(settings.database_url)
    try:
        prepare(settings, storage)
        return Install(settings.keys_dir, storage.list_signing_keys())
    finally:
        storage.close()


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    return tmp_path / "cli-keys"


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, keys_dir: Path) -> None:
    for name in list(os.environ):
        if name.startswith("AUTHORITY_") and not name.startswith("AUTHORITY_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AUTHORITY_DATABASE_URL", database_url)
    monkeypatch.setenv("AUTHORITY_KEYS_DIR", str(keys_dir))
    monkeypatch.setenv("AUTHORITY_ARGON2_MEMORY_COST", "1024")
    monkeypatch.setenv("AUTHORITY_ARGON2_TIME_COST", "1")


@pytest.fixture
def run_bare(
    cli_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Run:
    """``run_bare("init")`` -> exit code, stdout, stderr; nothing was initialised."""

    def invoke(*argv: str, stdin: str | None = None) -> Result:
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def run(run_bare: Run, initialised: Install, database_url: str, keys_dir: Path) -> Run:
    """``run("users", "list", stdin="...")`` on an install as ``authority init`` leaves it."""
    shutil.copytree(initialised.keys_dir, keys_dir)
    storage = SqlStorage.from_url(database_url)
    try:
        for key in initialised.keys:
            storage.add_signing_key(key)
    finally:
        storage.close()
    return run_bare
