"""What every command shares: its help, --version, -v, shell completion, the database it names,
and the warning for an AUTHORITY_* variable that is no setting."""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from argcomplete.finders import CompletionFinder

from authority.cli import build_parser, main
from authority.cli.surface import version
from authority.settings import SPECS
from tests.cli.support import Run


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield (*path, name), child
                yield from _commands(child, (*path, name))


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


def test_every_command_at_every_depth_says_what_it_does_in_its_own_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    commands = dict(_commands(build_parser()))
    assert {("clients", "create"), ("users", "list"), ("keys", "rotate")} <= set(commands)
    for path, parser in commands.items():
        assert parser.description, f"authority {' '.join(path)} --help has no description"

    out = _help(capsys, "clients", "create")
    assert "register a client; prints its secret once" in out.split("options:")[0]


def test_version_prints_the_installed_distribution_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])

    assert exited.value.code == 0
    assert capsys.readouterr().out == f"authority {version()}\n"
    assert version()[0].isdigit()


def test_help_lists_every_variable_with_its_default_and_never_a_secret(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHORITY_KEYS_PASSPHRASE", "hunter2-passphrase")

    out = _help(capsys)

    rows = {
        line.split()[0]: line.split(None, 1)[1]
        for line in out.splitlines()
        if line[2:12] == "AUTHORITY_"
    }
    assert list(rows) == [spec.var for spec in SPECS.values()]
    assert rows["AUTHORITY_DATABASE_URL"] == "sqlite:///./authority.db"
    assert rows["AUTHORITY_ISSUER"] == "http://localhost:PORT"
    assert rows["AUTHORITY_ACCESS_TOKEN_TTL"] == "15m"
    for spec in SPECS.values():
        if spec.secret:
            assert rows[spec.var] == "(secret)"
    assert "hunter2" not in out


class _Finder(CompletionFinder):
    def _init_debug_stream(self) -> None:
        """Not fd 9, as argcomplete would: pytest holds that one."""


def _completions(monkeypatch: pytest.MonkeyPatch, line: str) -> list[str]:
    """What argcomplete answers a shell asking to complete ``line``."""
    monkeypatch.setenv("_ARGCOMPLETE", "1")
    monkeypatch.setenv("COMP_LINE", line)
    monkeypatch.setenv("COMP_POINT", str(len(line)))
    answer = io.StringIO()

    def done(code: int) -> None:
        raise SystemExit(code)

    with pytest.raises(SystemExit) as exited:
        _Finder()(build_parser(), output_stream=answer, exit_method=done)
    assert exited.value.code == 0
    return answer.getvalue().split("\013")


def test_completion_completes_commands_and_their_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _completions(monkeypatch, "authority cli") == ["clients "]
    assert {"list", "rotate", "generate"} <= set(_completions(monkeypatch, "authority keys "))
    assert _completions(monkeypatch, "authority users list --js") == ["--json "]


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_prints_the_script_a_shell_sources(
    capsys: pytest.CaptureFixture[str], shell: str
) -> None:
    assert main(["completion", shell]) == 0

    script = capsys.readouterr().out
    assert "_ARGCOMPLETE" in script and "authority" in script


def test_users_list_and_show_print_a_dash_for_a_missing_email_and_json_keeps_null(
    run: Run,
) -> None:
    run("users", "create", "alice", "--password-stdin", stdin="long enough password 1\n")

    listed = run("users", "list").out.splitlines()
    shown = run("users", "show", "alice").out.splitlines()

    assert listed[1].split()[1:3] == ["alice", "-"]
    assert "email: -" in shown
    assert "None" not in "".join(listed + shown)
    assert run("users", "show", "alice", "--json").json()["email"] is None


def test_json_names_the_database_used_with_its_password_masked(
    run: Run, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    if database_url.startswith("postgresql"):
        # The test server trusts local connections, so the password is sent and not checked.
        database_url = database_url.replace("postgres@", "postgres:hunter2@", 1)
        monkeypatch.setenv("AUTHORITY_DATABASE_URL", database_url)

    result = run("clients", "list", "--json")

    named = result.document()["database"]
    assert named == database_url.replace(":hunter2@", ":***@")
    assert "hunter2" not in result.out + result.err
    assert result.json() == {"clients": []}


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_says_which_database_and_keys_folder_on_stderr(
    run: Run, database_url: str, keys_dir: Path, where: str
) -> None:
    argv = ["-v", "users", "list"] if where == "before" else ["users", "list", "--verbose"]

    result = run(*argv)

    assert result.code == 0 and result.out == "(none)\n"
    assert result.err == f"authority: database {database_url}, keys folder {keys_dir}\n"
    assert run("users", "list").err == ""  # not without -v


def test_a_mistyped_variable_is_named_with_the_setting_it_resembles(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHORITY_ISUER", "https://id.example")
    monkeypatch.setenv("AUTHORITY_TEST_ANYTHING", "the test suite's own")

    result = run("clients", "list", "--json")

    assert result.json() == {"clients": []}  # a warning, not a refusal
    assert result.err == (
        "authority: warning: AUTHORITY_ISUER is not a setting and is ignored; "
        "did you mean AUTHORITY_ISSUER?\n"
    )


def test_a_stranger_variable_with_no_close_setting_points_to_the_help(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHORITY_PORT", "9000")

    result = run("clients", "list")

    assert result.code == 0
    assert result.err == (
        "authority: warning: AUTHORITY_PORT is not a setting and is ignored; "
        "see `authority --help`\n"
    )
