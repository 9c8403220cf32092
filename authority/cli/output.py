"""How every command speaks: one JSON object with --json, text otherwise, errors on stderr."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


class CommandError(Exception):
    pass


def emit(args: argparse.Namespace, data: dict[str, Any], human: str) -> None:
    if args.json:
        database = getattr(args, "database_used", None)  # the masked URL a command opened
        if database is not None:
            data = {"database": database, **data}
        print(json.dumps(data, separators=(",", ":")))
    else:
        print(human)


def read_password(args: argparse.Namespace) -> str:
    if not args.password_stdin:
        raise CommandError("pass the password on standard input with --password-stdin")
    line = sys.stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    if not password:
        raise CommandError("no password was given on standard input")
    return password


def words(values: list[str] | None) -> list[str]:
    """Accept both ``--scope "a b"`` and ``--scope a --scope b``."""
    return [w for value in values or [] for w in value.split()]


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "(none)"
    cells = [[shown(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def shown(value: object) -> str:
    """A value as human output writes it: ``-`` for none (JSON keeps null), a list as its
    items with spaces between them (none: ``-``)."""
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value) or "-"
    return "-" if value is None else str(value)


def fields(view: dict[str, Any]) -> str:
    """One ``name: value`` line per field, as ``show`` prints a record."""
    return "\n".join(f"{name}: {shown(value)}" for name, value in view.items())


def when(epoch: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) if epoch else "-"
