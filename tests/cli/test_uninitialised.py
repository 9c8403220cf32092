"""Only `serve` and `init` create a schema or keys; every other command on an install that is
not set up (or not at this release's schema) says what to run, exits 2 and changes nothing."""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from authority.cli import main
from authority.storage import migrate
from tests.cli.support import Result, Run, assert_failed

INIT = "run `authority init` first"
COMMANDS = [
    ("clients", "list"),
    ("clients", "create", "billing", "--grant", "client_credentials"),
    ("clients", "show", "no-such-client"),
    ("users", "list"),
    ("users", "create", "alice", "--password-stdin"),
    ("keys", "list"),
    ("keys", "rotate"),
    ("keys", "export-public"),
    ("prune",),
]


@pytest.fixture
def empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory, empty, with every setting at its default (./authority.db, ./keys)."""
    for name in list(os.environ):
        if name.startswith("AUTHORITY_") and not name.startswith("AUTHORITY_TEST_"):
            monkeypatch.delenv(name)
    folder = tmp_path / "empty"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("json", [False, True], ids=["human", "json"])
def test_in_an_empty_folder_a_command_says_to_run_init_and_creates_nothing(
    empty_folder: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: tuple[str, ...],
    json: bool,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("long enough password\n"))

    code = main([*argv, *(["--json"] if json else [])])

    captured = capsys.readouterr()
    # Which database and keys folder it looked at, as a command run in the wrong folder
    # would otherwise seem to find an empty install.
    looked_at = f"(database sqlite:///./authority.db, keys folder ./keys, relative to {Path.cwd()})"
    assert_failed(
        Result(code, captured.out, captured.err),
        "the database has no schema yet",
        INIT,
        looked_at,
        code=2,
    )
    assert list(empty_folder.iterdir()) == []  # no authority.db, no keys/


def _at_revision(sqlite_template: Path, tmp_path: Path, revision: str) -> str:
    path = tmp_path / "at-revision.db"
    shutil.copy(sqlite_template, path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    return f"sqlite:///{path}"


def test_an_older_schema_is_left_to_init_or_serve_to_migrate(
    run: Run, monkeypatch: pytest.MonkeyPatch, sqlite_template: Path, tmp_path: Path
) -> None:
    older = f"{int(migrate.HEAD) - 1:04d}"
    monkeypatch.setenv("AUTHORITY_DATABASE_URL", _at_revision(sqlite_template, tmp_path, older))

    result = run("clients", "list", "--json")

    assert_failed(result, f"at revision {older}", f"needs {migrate.HEAD}", code=2)
    assert "run `authority init` (or `authority serve`), which migrates it" in result.err


def test_a_newer_schema_is_refused_with_what_to_run_instead(
    run: Run, monkeypatch: pytest.MonkeyPatch, sqlite_template: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv("AUTHORITY_DATABASE_URL", _at_revision(sqlite_template, tmp_path, "9999"))

    result = run("users", "list", "--json")

    assert_failed(result, "at revision 9999", "newer than this release", code=2)


def test_an_empty_database_file_is_no_schema_and_stays_empty(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    monkeypatch.setenv("AUTHORITY_DATABASE_URL", f"sqlite:///{empty}")

    assert_failed(run("clients", "list", "--json"), "no schema yet", INIT, code=2)
    assert empty.stat().st_size == 0


def test_a_database_password_is_masked_where_the_refusal_names_it(
    run_bare: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, postgres_url: str
) -> None:
    # A schema no install lives in; the test server trusts local connections, so the
    # password is sent and not checked.
    base = postgres_url.partition("?")[0].replace("postgres@", "postgres:hunter2@", 1)
    url = f"{base}?options=-csearch_path%3Dno_install_here"
    monkeypatch.setenv("AUTHORITY_DATABASE_URL", url)
    monkeypatch.setenv("AUTHORITY_KEYS_DIR", str(tmp_path / "elsewhere"))

    result = run_bare("users", "list")

    masked = url.replace(":hunter2@", ":***@")
    assert_failed(result, INIT, f"(database {masked}, keys folder {tmp_path}/elsewhere)", code=2)
    assert "hunter2" not in result.err


def test_the_key_commands_need_the_signing_keys_init_creates(run_bare: Run, keys_dir: Path) -> None:
    # A migrated database and no keys at all, as after a restore of the database alone.
    assert_failed(
        run_bare("keys", "list", "--json"), "no active ES256 or RS256 signing key", INIT, code=2
    )
    assert_failed(run_bare("clients", "list", "--json"), "hash.key", "authority init", code=2)
    assert not keys_dir.exists()

    run_bare("init", "--json").json()
    listed = run_bare("keys", "list", "--json").json()["keys"]
    assert sorted(k["alg"] for k in listed if k["state"] == "active") == ["ES256", "RS256"]
