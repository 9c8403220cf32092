"""What every command shares: ``--version``, ``-v``, a description in each help, and the
environment variables listed under ``authority --help``."""

from __future__ import annotations

import argparse
import importlib.metadata
from collections.abc import Sequence
from typing import Any

import authority
from authority.cli.completion import cmd_completion
from authority.settings import SPECS


def version() -> str:
    """The installed distribution's version, whatever the distribution is called; the
    package's own ``__version__`` when no installed metadata holds it (a source tree)."""
    for name in importlib.metadata.packages_distributions().get("authority", []):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return authority.__version__


class _Version(argparse.Action):
    """``--version``, looked up only when asked for: reading every installed distribution's
    metadata is no cost the other commands should pay."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        print(f"{parser.prog} {version()}")
        parser.exit()


def environment_epilog() -> str:
    """Every ``AUTHORITY_*`` variable and its default, from the settings' own specs (README's
    table says what each means). A secret's default is never shown."""
    rows = [(spec.var, _default(spec.shown_default(), spec.secret)) for spec in SPECS.values()]
    width = max(len(var) for var, _ in rows)
    lines = [f"  {var.ljust(width)}  {default}" for var, default in rows]
    return "\n".join(
        [
            "environment variables (and their defaults; README's settings table says more):",
            *lines,
            "",
            "Every command must see the AUTHORITY_DATABASE_URL and AUTHORITY_KEYS_DIR the "
            "server uses.",
        ]
    )


def _default(shown: str, secret: bool) -> str:
    return "(secret)" if secret else shown.replace("`", "")


def add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also say which database and keys folder a command works on (on stderr)",
    )
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = environment_epilog()


def finish(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give every sub-command, at any depth, its help line as its description (what
    ``authority clients create --help`` opens with), and accept ``-v`` after it too."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        for name, child in action.choices.items():
            if child.description is None and helps.get(name):
                child.description = helps[name]
            if not _has_subcommands(child) and child.get_default("func") is not cmd_completion:
                # SUPPRESS: when not given here, the top-level -v (or its default) stands.
                child.add_argument(
                    "-v",
                    "--verbose",
                    action="store_true",
                    default=argparse.SUPPRESS,
                    help="say which database and keys folder this works on (on stderr)",
                )
            finish(child)
    return parser


def _has_subcommands(parser: argparse.ArgumentParser) -> bool:
    return any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
