"""What every command shares: its help, --version and shell completion."""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator

import pytest
from argcomplete.finders import CompletionFinder

from authority.cli import build_parser, main
from authority.cli.surface import version
from authority.settings import SPECS


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
