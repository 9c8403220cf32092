"""``authority users import FILE|-``: its arguments and what it prints.

stdout: the pk -> sub mapping and a summary line (or, with ``--json``, one object holding
both). stderr: each skipped row by its place, the rows of other models passed over, and the
fields authority keeps no place for. Exit 1 when any row was skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import sys
from typing import IO, Any

from authority.admin import importer, manage
from authority.admin.provision import Admin
from authority.cli.output import CommandError, emit, table

EXIT_SKIPPED = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        help="dumpdata output (auth.user or the whole auth app, JSON or JSON lines), or CSV "
        "username,email,password_hash,is_active; - reads standard input",
    )
    parser.add_argument(
        "--format", choices=importer.FORMATS, help="default: from the first character read"
    )
    parser.add_argument(
        "--email-verified",
        action="store_true",
        help="mark the imported email addresses as verified",
    )
    parser.add_argument(
        "--map-file",
        metavar="PATH",
        help="write the Django pk -> sub mapping to PATH (JSON if it ends in .json, else CSV "
        "pk,username,sub) instead of printing it",
    )


def cmd_import(args: argparse.Namespace, admin: Admin) -> int:
    data = _read(args.file)
    with contextlib.ExitStack() as stack:
        # Opened first: a map file that cannot be written stops the import before it starts.
        mapping = stack.enter_context(_open(args.map_file)) if args.map_file else None
        report = _run(args, admin, data)
        if mapping is not None:
            _write_map(mapping, args.map_file, report.users)
    for line in _notes(report):
        print(f"authority: {line}", file=sys.stderr)
    summary = (
        f"created {report.created}, updated {report.updated}, skipped "
        f"{len(report.failed)} bad row(s) in {report.seconds} s"
    )
    if args.map_file:
        summary += f"; pk -> sub mapping written to {args.map_file}"
    elif report.users:
        rows = [{**u, "pk": "" if u["pk"] is None else u["pk"]} for u in report.users]
        summary = table(rows, ["pk", "username", "sub"]) + "\n" + summary
    emit(args, vars(report), summary)
    return EXIT_SKIPPED if report.failed else 0


def _run(args: argparse.Namespace, admin: Admin, data: str) -> importer.ImportReport:
    progress = _show_progress if sys.stderr.isatty() else None
    try:
        fmt = args.format or importer.sniff(data)
        return manage.import_users(admin, data, fmt, args.email_verified, progress)
    except importer.ImportFormatError as exc:
        raise CommandError(f"{_name(args.file)}: {exc}") from None
    finally:
        if progress is not None:
            print(file=sys.stderr)


def _name(path: str) -> str:
    return "standard input" if path == "-" else path


def _read(path: str) -> str:
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {_name(path)}: {exc}") from None


def _show_progress(done: int) -> None:
    print(f"\rimporting users: {done:,}", end="", file=sys.stderr, flush=True)


def _counts(counts: dict[str, int], unit: str) -> str:
    return ", ".join(f"{name} ({n} {unit}{'s' * (n != 1)})" for name, n in counts.items())


def _notes(report: importer.ImportReport) -> list[str]:
    """One line per skipped row, then one line for each kind of thing passed over."""
    notes = [f"{importer.Place(**_place(bad))}: {bad['error']}" for bad in report.failed]
    custom = {m: n for m, n in report.models.items() if m != "auth.user"}
    if custom:
        notes.append(f"read as users, as they look like auth.user: {_counts(custom, 'row')}")
    if report.ignored:
        total = sum(report.ignored.values())
        notes.append(f"ignored {total} row(s) of other models: {_counts(report.ignored, 'row')}")
    if report.dropped:
        notes.append(
            "warning: not imported, as authority keeps no such field: "
            + _counts(report.dropped, "user")
        )
    return notes


def _place(bad: dict[str, Any]) -> dict[str, int]:
    return {k: bad[k] for k in ("line", "index") if k in bad}


def _open(path: str) -> IO[str]:
    try:
        return open(path, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc}") from None


def _write_map(handle: IO[str], path: str, users: list[dict[str, Any]]) -> None:
    if path.lower().endswith(".json"):
        json.dump(users, handle, indent=1)
        handle.write("\n")
    else:
        writer = csv.DictWriter(handle, fieldnames=["pk", "username", "sub"])
        writer.writeheader()
        writer.writerows(users)
