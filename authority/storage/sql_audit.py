"""The audit trail's rows: appended in batches, read a page at a time, purged in batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, delete, insert, or_, select, tuple_

from authority.storage.records import AuditQuery, AuditRecord
from authority.storage.sql_base import SqlBase
from authority.storage.tables import audit_events as audit

_INSERT = insert(audit)
_COLUMNS = (
    "at",
    "type",
    "actor_kind",
    "actor",
    "subject",
    "client_id",
    "ip",
    "user_agent",
    "request_id",
    "detail",
)


class AuditSql(SqlBase):
    def add_audit_events(self, records: Sequence[AuditRecord]) -> None:
        """Append ``records`` in one transaction (one statement, executed for each row)."""
        if not records:
            return
        rows = [{name: getattr(r, name) for name in _COLUMNS} for r in records]
        self._write(lambda conn: conn.execute(_INSERT, rows))

    def audit_events(
        self,
        query: AuditQuery,
        limit: int,
        newest_first: bool = True,
        after: tuple[float, int] | None = None,
    ) -> list[AuditRecord]:
        """At most ``limit`` records ``query`` matches in (at, id) order, newest or oldest
        first, and only those past ``after``: the (at, id) of the last record of the page
        before (keyset paging: each page is one indexed range read, however deep)."""
        order = (audit.c.at.desc(), audit.c.id.desc()) if newest_first else (audit.c.at, audit.c.id)
        statement = select(audit).where(*_conditions(query)).order_by(*order).limit(limit)
        if after is not None:
            key = tuple_(audit.c.at, audit.c.id)
            statement = statement.where(key < after if newest_first else key > after)
        return [_record(r) for r in self._all(statement)]

    def audit_event_key(self, event_id: int) -> tuple[float, int] | None:
        """The (at, id) of the record ``event_id``: where a page that starts after it starts."""
        row = self._first(select(audit.c.at, audit.c.id).where(audit.c.id == event_id))
        return (row.at, row.id) if row else None

    def purge_audit_events(
        self, before: float, batch: int = 1000, max_batches: int | None = None
    ) -> int:
        """Delete records older than ``before`` in bounded batches, one short transaction
        each (on SQLite the one writer is held only that long); returns how many."""
        oldest = select(audit.c.id).where(audit.c.at < before).order_by(audit.c.at).limit(batch)

        def work(conn: Connection) -> int:
            ids = [r.id for r in conn.execute(oldest)]
            if ids:
                conn.execute(delete(audit).where(audit.c.id.in_(ids)))
            return len(ids)

        total, batches = 0, 0
        while max_batches is None or batches < max_batches:
            done = self._write(work)
            total, batches = total + done, batches + 1
            if done < batch:
                break
        return total


def _conditions(query: AuditQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.since is not None:
        conditions.append(audit.c.at >= query.since)
    if query.until is not None:
        conditions.append(audit.c.at < query.until)
    kinds = [audit.c.type.in_(query.types)] if query.types else []
    kinds += [audit.c.type.startswith(group + ".", autoescape=True) for group in query.groups]
    kinds += [audit.c.type == group for group in query.groups]
    if kinds:
        conditions.append(or_(*kinds))
    if query.subject is not None:
        conditions.append(audit.c.subject == query.subject)
    if query.client_id is not None:
        conditions.append(audit.c.client_id == query.client_id)
    return conditions


def _record(row: Row[Any]) -> AuditRecord:
    return AuditRecord(
        at=row.at,
        type=row.type,
        actor_kind=row.actor_kind,
        actor=row.actor,
        subject=row.subject,
        client_id=row.client_id,
        ip=row.ip,
        user_agent=row.user_agent,
        request_id=row.request_id,
        detail=dict(row.detail or {}),
        id=row.id,
    )
