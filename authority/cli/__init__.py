# PYTHON_ARGCOMPLETE_OK: argcomplete's global completion looks for this line.
"""The operator CLI: ``authority serve|init|clients|users|keys|prune|audit``.

Human-readable output by default; with ``--json`` exactly one JSON object on stdout.
Errors go to stderr as one line, with a non-zero exit.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from authority.admin.audit import operator_events
from authority.admin.bootstrap import NotReady, require_ready
from authority.admin.provision import Admin, AdminError
from authority.cli.completion import complete
from authority.cli.environment import looked_at, masked_url, quiet_when_stdout_closes
from authority.cli.output import CommandError
from authority.cli.parser import build_parser
from authority.keys import KeyStoreError
from authority.observe import logs
from authority.settings import LOG_FORMATS, LOG_LEVELS, ConfigError, Settings
from authority.storage import Conflict
from authority.storage.sql import SqlStorage

__all__ = ["build_parser", "main"]
EXIT_USAGE, EXIT_FAILED = 2, 1


def _with_admin(func: Callable[[argparse.Namespace, Admin], int], args: argparse.Namespace) -> int:
    """Run an operator command on an initialised install; it creates no schema and no keys
    (only ``serve`` and ``init`` do)."""
    settings = Settings.from_env()
    storage = SqlStorage.from_url(settings.database_url, settings.database_timeout)
    try:
        # The key commands other than ``generate`` work on the signing keys init creates.
        signing_keys = args.command == "keys" and args.action != "generate"
        try:
            require_ready(settings, storage, signing_keys=signing_keys)
        except NotReady as exc:
            raise NotReady(f"{exc} ({looked_at(settings)})") from None
        args.database_used = masked_url(settings.database_url)  # named by every --json
        if args.verbose:
            print(f"authority: {looked_at(settings)}", file=sys.stderr)
        # Each change the command makes is in the audit trail when it returns.
        return func(args, Admin(settings, storage, operator_events(settings, storage)))
    finally:
        storage.close()


def _first_line(exc: BaseException | None) -> str:
    lines = str(exc).splitlines() if exc is not None else []
    return lines[0] if lines else ""


def main(argv: Sequence[str] | None = None) -> int:
    return quiet_when_stdout_closes(lambda: _main(argv))


def _main(argv: Sequence[str] | None) -> int:
    # A bad level or format is reported by Settings as a one-line ConfigError, not here.
    level = os.environ.get("AUTHORITY_LOG_LEVEL", "").strip().upper()
    log_format = os.environ.get("AUTHORITY_LOG_FORMAT", "").strip().lower()
    logs.configure(
        log_format if log_format in LOG_FORMATS else "text",
        level if level in LOG_LEVELS else "INFO",
    )
    parser = build_parser()
    complete(parser)
    args = parser.parse_args(argv)
    try:
        if hasattr(args, "admin_func"):
            return _with_admin(args.admin_func, args)
        return int(args.func(args))
    except (ConfigError, KeyStoreError, NotReady) as exc:
        print(f"authority: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (AdminError, CommandError, Conflict) as exc:
        print(f"authority: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except ArgumentError as exc:
        # A URL SQLAlchemy cannot parse, or one naming a driver that is not installed.
        print(f"authority: AUTHORITY_DATABASE_URL: {_first_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except SQLAlchemyError as exc:
        # Only a DBAPIError wraps a driver's error (``orig``); its first line says the most.
        cause = exc.orig if isinstance(exc, DBAPIError) else None
        detail = _first_line(cause) or _first_line(exc)
        print(f"authority: database error: {exc.__class__.__name__}: {detail}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
