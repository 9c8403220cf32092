"""Where a command runs: the database and keys folder it works on, and the stdout it
writes to."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from authority.settings import Settings

# The exit status of a process killed by SIGPIPE (128 + 13), as `git log | head -1` gives.
EXIT_PIPE_CLOSED = 141


def masked_url(url: str) -> str:
    """``url`` with its password, if any, as ``***``."""
    try:
        parsed = make_url(url)
        # Rendered only when there is a password to hide: it rewrites other parts too.
        return parsed.render_as_string(hide_password=True) if parsed.password else url
    except ArgumentError:  # not a URL SQLAlchemy can read: mask what looks like user:pass@
        return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", url)


def looked_at(settings: Settings) -> str:
    """The database and keys folder a command opens, as one clause for an error or -v."""
    keys = settings.keys_dir
    shown = str(keys) if keys.is_absolute() or str(keys).startswith(".") else f"./{keys}"
    where = f"database {masked_url(settings.database_url)}, keys folder {shown}"
    database = settings.database_url.partition(":///")[2]
    relative = not keys.is_absolute() or (
        settings.database_url.startswith("sqlite")
        and database not in ("", ":memory:")
        and not Path(database).is_absolute()
    )
    return f"{where}, relative to {Path.cwd()}" if relative else where


def quiet_when_stdout_closes(run: Callable[[], int]) -> int:
    """``run()``, and its output flushed; when the reader has gone (``authority users list |
    head -1``) the command ends like a Unix tool killed by SIGPIPE, without a traceback."""
    try:
        code = run()
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # Python's own advice: point stdout at /dev/null, or the interpreter's last flush
        # fails again on the way out ("Exception ignored ... BrokenPipeError").
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):  # no real file descriptor (captured in a test)
            pass
        return EXIT_PIPE_CLOSED
