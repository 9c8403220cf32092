"""Shell completion, by argcomplete: it completes from the parser itself, so every command
and flag completes as soon as it exists."""

from __future__ import annotations

import argparse

import argcomplete
from argcomplete.shell_integration import shellcode

SHELLS = ("bash", "zsh", "fish")


def complete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell and exit when it asks for completions (``_ARGCOMPLETE`` is set);
    otherwise do nothing."""
    argcomplete.autocomplete(parser)


def cmd_completion(args: argparse.Namespace) -> int:
    """Print the script to source, e.g. ``eval "$(authority completion bash)"``."""
    print(shellcode(["authority"], shell=args.shell), end="")
    return 0


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    what = 'print the shell completion script: eval "$(authority completion bash)"'
    p = sub.add_parser("completion", help=what, description=what)
    p.add_argument("shell", choices=SHELLS)
    p.set_defaults(func=cmd_completion)
