"""The installed console script as a newcomer meets it: --version, --help, completion, a pipe
closed early, a mistyped variable, a folder with no install, and serve's first lines."""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.raw_http import sqlite_url
from tests.e2e.servers import AUTHORITY, USER_PASSWORD, cli, environment, free_port, wait_for

__all__ = ["sqlite_url"]  # a fixture
pytestmark = pytest.mark.e2e


def _bare_environment() -> dict[str, str]:
    """The caller's environment with no AUTHORITY_* variable: every setting at its default."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AUTHORITY_")}


def _authority(
    env: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AUTHORITY, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_version_names_the_installed_distribution(tmp_path: Path) -> None:
    done = _authority(_bare_environment(), "--version", cwd=tmp_path)

    assert (done.returncode, done.stderr) == (0, "")
    name = importlib.metadata.packages_distributions()["authority"][0]
    assert done.stdout == f"authority {importlib.metadata.version(name)}\n"


def test_help_lists_the_environment_variables_with_their_defaults(tmp_path: Path) -> None:
    env = {**_bare_environment(), "AUTHORITY_HASH_KEY": "ab" * 32}

    done = _authority(env, "--help", cwd=tmp_path)

    assert done.returncode == 0
    lines = [line.split() for line in done.stdout.splitlines()]
    assert ["AUTHORITY_DATABASE_URL", "sqlite:///./authority.db"] in lines
    assert ["AUTHORITY_KEYS_DIR", "./keys"] in lines
    assert ["AUTHORITY_HASH_KEY", "(secret)"] in lines
    assert "ab" * 32 not in done.stdout


def test_completion_of_the_installed_script_answers_the_shell(tmp_path: Path) -> None:
    answer = tmp_path / "completions"
    line = "authority cli"
    env = {
        **_bare_environment(),
        "_ARGCOMPLETE": "1",
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
        # Where argcomplete's own shell functions ask for the answer instead of fd 8.
        "_ARGCOMPLETE_STDOUT_FILENAME": str(answer),
    }

    done = _authority(env, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert answer.read_text() == "clients "
    assert list(tmp_path.iterdir()) == [answer]  # completing opened no database


def test_a_reader_that_leaves_early_gets_no_traceback(database_url: str, tmp_path: Path) -> None:
    env = environment(database_url, tmp_path / "keys", "http://127.0.0.1:1")
    cli(env, "init")
    for name in ("alice", "bob"):
        cli(env, "users", "create", name, "--password-stdin", stdin=USER_PASSWORD + "\n")
    # As `authority users list | head -1` once head has exited: a pipe nobody reads.
    reader, writer = os.pipe()
    os.close(reader)
    try:
        done = subprocess.run(
            [AUTHORITY, "users", "list"],
            env=env,
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(writer)

    assert done.stderr == ""
    assert done.returncode == 128 + signal.SIGPIPE  # as a Unix tool killed by SIGPIPE


def test_a_mistyped_variable_is_warned_about_in_one_line(database_url: str, tmp_path: Path) -> None:
    env = environment(database_url, tmp_path / "keys", "http://127.0.0.1:1")
    cli(env, "init")
    env["AUTHORITY_ISUER"] = "https://id.example"

    done = _authority(env, "clients", "list", "--json")

    assert done.returncode == 0
    assert json.loads(done.stdout)["clients"] == []
    assert done.stderr == (
        "authority: warning: AUTHORITY_ISUER is not a setting and is ignored; "
        "did you mean AUTHORITY_ISSUER?\n"
    )


@pytest.mark.parametrize(
    "argv", [("clients", "list"), ("users", "import", "users.json"), ("keys", "list", "--json")]
)
def test_in_a_folder_with_no_install_a_command_names_where_it_looked_and_exits_2(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    folder = tmp_path / "django-project"
    folder.mkdir()
    (folder / "users.json").write_text("[]")

    done = _authority(_bare_environment(), *argv, cwd=folder)

    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "authority: the database has no schema yet; run `authority init` first "
        f"(database sqlite:///./authority.db, keys folder ./keys, relative to {folder})\n"
    )
    assert [p.name for p in folder.iterdir()] == ["users.json"]  # no authority.db, no keys/


@contextmanager
def _serving(env: dict[str, str], port: int, *extra: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [AUTHORITY, "serve", "--port", str(port), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_serve_without_an_issuer_says_which_it_picked_and_json_describes_the_start(
    sqlite_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = environment(sqlite_url, tmp_path / "keys", "unused")
    del env["AUTHORITY_ISSUER"]

    with _serving(env, port, "--json") as proc:
        assert proc.stdout is not None and proc.stderr is not None
        started = json.loads(proc.stdout.readline())  # printed before it listens
        wait_for(lambda: _ready(port), 30)
        os.killpg(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=30)

    issuer = f"http://localhost:{port}"
    assert started == {
        "issuer": issuer,
        "database": sqlite_url,
        "keys_dir": str(tmp_path / "keys"),
        "host": "127.0.0.1",
        "port": port,
        "workers": 1,
        "created": started["created"],
    }
    assert f"secret hash key in {tmp_path / 'keys'}" in started["created"]
    assert err.splitlines()[0] == (
        f"authority: AUTHORITY_ISSUER is not set; the issuer is {issuer} "
        "(from --host and --port): set it to the URL clients reach"
    )
