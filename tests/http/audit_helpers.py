"""Reading the audit trail in tests: the server's queue flushed first, then every row."""

from __future__ import annotations

from authority.events import EventType
from authority.runtime import Authority
from authority.storage import AuditQuery, AuditRecord


def trail(authority: Authority, query: AuditQuery | None = None) -> list[AuditRecord]:
    """Every audit row, oldest first, once what the server queued is written."""
    if authority.audit is not None:
        authority.audit.flush()
    return authority.storage.audit_events(query or AuditQuery(), 10_000, newest_first=False)


def of_type(authority: Authority, *types: EventType) -> list[AuditRecord]:
    return [r for r in trail(authority) if r.type in types]


def one(authority: Authority, type: EventType) -> AuditRecord:
    """The one row of ``type``."""
    [record] = of_type(authority, type)
    return record
