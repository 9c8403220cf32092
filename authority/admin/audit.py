"""The audit trail as operators read it: a listing (newest first, a page at a time) and an
export (oldest first, as JSON lines), both streamed in bounded pages, so neither holds more
than a page in memory however many events match. And the writer the command line records
its own changes with."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from authority.admin.errors import AdminError
from authority.admin.provision import Admin
from authority.events import Events, EventType
from authority.observe.audit import AuditWriter, hears, keeps
from authority.settings import Settings
from authority.storage import AuditQuery, AuditRecord, AuditStore

PAGE = 500  # records per read
DEFAULT_LIMIT = 100
MAX_LIMIT = 100_000
TYPES = tuple(t.value for t in EventType)
# "login" names every "login.*" type (and "logout" both logout and logout.everywhere).
GROUPS = tuple(dict.fromkeys(t.partition(".")[0] for t in TYPES))
_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def operator_events(settings: Settings, store: AuditStore) -> Events:
    """The events of a command-line process: with the trail on, each operator's change is
    written at once, so it is in the trail when the command returns."""
    events = Events()
    if settings.audit:
        cc = settings.audit_client_credentials
        events.listen(AuditWriter(store, keeps(cc)), hears(cc))
    return events


def parse_time(text: str, now: float, flag: str = "--since") -> float:
    """An instant as epoch seconds: ``24h``, ``7d``, ``30m``, ``90s``, ``2w`` ago, or an ISO
    8601 date or time (UTC unless it names its offset)."""
    relative = _RELATIVE.match(text)
    if relative:
        return now - int(relative.group(1)) * _UNITS[relative.group(2)]
    try:
        when = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise AdminError(
            f"{flag} must be a time ago (e.g. 24h, 7d, 30m) or an ISO 8601 date or time "
            f"(e.g. 2026-12-01 or 2026-12-01T10:00:00Z), not {text!r}"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def query(
    admin: Admin,
    since: str | None = None,
    until: str | None = None,
    types: list[str] | None = None,
    user: str | None = None,
    client_id: str | None = None,
    now: float | None = None,
) -> AuditQuery:
    """What ``--since``, ``--until``, ``--type`` (a type, or a group such as ``login``),
    ``--user`` (a username, or the sub of any user, deleted ones included) and ``--client``
    ask for."""
    now = time.time() if now is None else now
    exact: list[str] = []
    groups: list[str] = []
    for name in types or []:
        if name in GROUPS:
            groups.append(name)
        elif name in TYPES:
            exact.append(name)
        else:
            raise AdminError(
                f"--type {name!r} is no event type; use a type (e.g. login.failed) or a group: "
                + ", ".join(GROUPS)
            )
    subject = None
    if user is not None:
        found = admin.storage.get_user_by_username(user)
        subject = found.sub if found is not None else user
    return AuditQuery(
        since=parse_time(since, now) if since is not None else None,
        until=parse_time(until, now, "--until") if until is not None else None,
        types=tuple(exact),
        groups=tuple(groups),
        subject=subject,
        client_id=client_id,
    )


class Listing:
    """The events ``query`` matches, newest first, at most ``limit``, older than the event
    ``before`` if given. Iterate it once; then ``next`` is the ``--before`` of the next page
    (None: there is no more)."""

    def __init__(
        self, store: AuditStore, query: AuditQuery, limit: int, before: int | None = None
    ) -> None:
        if not 1 <= limit <= MAX_LIMIT:
            raise AdminError(f"--limit must be 1 to {MAX_LIMIT}")
        self._store = store
        self._query = query
        self._limit = limit
        self._after: tuple[float, int] | None = None
        if before is not None:
            self._after = store.audit_event_key(before)
            if self._after is None:
                raise AdminError(f"no audit event {before}", field="before")
        self.next: int | None = None

    def __iter__(self) -> Iterator[AuditRecord]:
        left, after = self._limit, self._after
        while left > 0:
            # One more than is left: whether a next page exists, without another query.
            page = self._store.audit_events(self._query, min(left, PAGE) + 1, True, after)
            shown = page[:left]
            yield from shown
            left -= len(shown)
            if len(page) <= len(shown) or not shown:
                return  # nothing beyond what was shown
            last = shown[-1]
            assert last.id is not None
            after = (last.at, last.id)
            if left == 0:
                self.next = last.id


def export(store: AuditStore, query: AuditQuery) -> Iterator[AuditRecord]:
    """Every event ``query`` matches, oldest first, a page at a time."""
    after: tuple[float, int] | None = None
    while True:
        page = store.audit_events(query, PAGE, False, after)
        yield from page
        if len(page) < PAGE:
            return
        last = page[-1]
        assert last.id is not None
        after = (last.at, last.id)


def event_view(record: AuditRecord) -> dict[str, Any]:
    """An event as the listing's JSON and the export's lines show it: ``time`` in ISO 8601
    (UTC, milliseconds), ``at`` in epoch seconds."""
    return {
        "id": record.id,
        "time": iso(record.at),
        "at": record.at,
        "type": record.type,
        "actor_kind": record.actor_kind,
        "actor": record.actor,
        "subject": record.subject,
        "client_id": record.client_id,
        "ip": record.ip,
        "user_agent": record.user_agent,
        "request_id": record.request_id,
        "detail": record.detail,
    }


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
