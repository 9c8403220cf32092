"""Run the operator CLI in-process against the fixture database, capturing its output."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from authority.cli import main
from tests.cli.support import Result, Run


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
def run(cli_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run("users", "list", stdin="...")`` -> exit code, stdout, stderr."""

    def invoke(*argv: str, stdin: str | None = None) -> Result:
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke
