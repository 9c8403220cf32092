"""``authority audit list|export``: the audit trail, newest first a page at a time, or every
event of a period as JSON lines, oldest first. Both stream: memory stays flat however many
events there are."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from authority.admin import audit
from authority.admin.provision import Admin
from authority.storage import AuditRecord

JsonFlag = Callable[[argparse.ArgumentParser], None]
FLUSH_EVERY = 1000  # export: lines written between flushes of stdout
TIME_HELP = "ISO 8601 (UTC unless an offset is given) or a time ago: 30m, 24h, 7d, 2w"


def add_commands(sub: Any, json_flag: JsonFlag) -> None:
    trail = sub.add_parser("audit", help="read the audit trail").add_subparsers(
        dest="action", required=True
    )
    listing = trail.add_parser(
        "list",
        help="list audit events, newest first, a page at a time",
        description="List audit events, newest first. With --json, one object whose "
        '"next", when there are more, is the --before of the next page.',
    )
    _filters(listing, since_required=False)
    listing.add_argument(
        "--limit",
        type=int,
        default=audit.DEFAULT_LIMIT,
        metavar="N",
        help=f"at most N events (default {audit.DEFAULT_LIMIT}, at most {audit.MAX_LIMIT})",
    )
    listing.add_argument(
        "--before", type=int, metavar="ID", help="the events older than this one (a page's next)"
    )
    json_flag(listing)
    export = trail.add_parser(
        "export",
        help="print audit events as JSON lines, oldest first (authority audit export "
        "--since 7d > events.jsonl)",
    )
    _filters(export, since_required=True)


def _filters(parser: argparse.ArgumentParser, since_required: bool) -> None:
    parser.add_argument(
        "--since", required=since_required, metavar="TIME", help=f"from TIME on: {TIME_HELP}"
    )
    parser.add_argument("--until", metavar="TIME", help=f"before TIME: {TIME_HELP}")
    parser.add_argument(
        "--type",
        action="append",
        metavar="TYPE",
        help="only this event type (e.g. login.failed), or group (e.g. login, client, key); "
        "repeatable",
    )
    parser.add_argument("--user", metavar="USER", help="only events about this username or sub")
    parser.add_argument("--client", metavar="CLIENT_ID", help="only events of this client")


def cmd_audit(args: argparse.Namespace, admin: Admin) -> int:
    query = audit.query(admin, args.since, args.until, args.type, args.user, args.client)
    if args.action == "export":
        for n, record in enumerate(audit.export(admin.storage, query), 1):
            sys.stdout.write(json.dumps(audit.event_view(record), separators=(",", ":")) + "\n")
            if n % FLUSH_EVERY == 0:
                sys.stdout.flush()
        return 0
    listing = audit.Listing(admin.storage, query, args.limit, args.before)
    if args.json:
        _print_json(args, listing)
    else:
        _print_lines(listing)
    return 0


def _print_json(args: argparse.Namespace, listing: audit.Listing) -> None:
    """One JSON object, as ``emit`` prints it, written an event at a time."""
    out = sys.stdout
    database = getattr(args, "database_used", None)
    out.write("{" + (f'"database":{json.dumps(database)},' if database is not None else ""))
    out.write('"events":[')
    for n, record in enumerate(listing):
        out.write(("," if n else "") + json.dumps(audit.event_view(record), separators=(",", ":")))
    out.write("]")
    if listing.next is not None:
        out.write(f',"next":{listing.next}')
    out.write("}\n")


def _print_lines(listing: audit.Listing) -> None:
    shown = False
    for record in listing:
        print(line(record))
        shown = True
    if not shown:
        print("(none)")
    if listing.next is not None:
        print(f"(more: --before {listing.next})")


def line(record: AuditRecord) -> str:
    """One event on one line: its time, type, who, then what it concerns and its detail."""
    actor = record.actor_kind if record.actor is None else f"{record.actor_kind}:{record.actor}"
    parts = [audit.iso(record.at), record.type, actor]
    named = {
        "subject": record.subject,
        "client": record.client_id,
        "ip": record.ip,
        "request": record.request_id,
    }
    parts += [f"{k}={v}" for k, v in named.items() if v is not None]
    parts += [f"{k}={json.dumps(v)}" for k, v in record.detail.items()]
    return "  ".join(parts)
