"""The audit_events table: rows appended in one transaction, read in (at, id) order with the
listing's filters and keyset pages, and purged in bounded batches."""

from __future__ import annotations

import pytest

from authority.storage import AuditQuery, AuditRecord
from authority.storage.sql import SqlStorage

T0 = 1_800_000_000.25


def rec(at: float, type: str = "login.failed", **fields: object) -> AuditRecord:
    return AuditRecord(at=at, type=type, actor_kind="client", **fields)  # type: ignore[arg-type]


def listed(
    storage: SqlStorage, query: AuditQuery | None = None, newest_first: bool = True
) -> list[int]:
    """The ``n`` of each record in the detail, in the order read."""
    found = storage.audit_events(query or AuditQuery(), 1000, newest_first)
    return [int(r.detail["n"]) for r in found]  # type: ignore[arg-type]


def test_a_row_reads_back_as_it_was_written(storage: SqlStorage) -> None:
    written = AuditRecord(
        at=T0,
        type="login.succeeded",
        actor_kind="user",
        actor="sub-1",
        subject="sub-1",
        client_id="app",
        ip="2001:db8::1",
        user_agent="probe/1",
        request_id="req-1",
        detail={"way": "password grant", "count": 2, "kept": True, "none": None},
    )
    storage.add_audit_events([written])
    [read] = storage.audit_events(AuditQuery(), 10)
    assert read.id is not None
    assert read == AuditRecord(**{**written.__dict__, "id": read.id})


def test_rows_come_newest_first_or_oldest_first_and_the_same_time_by_id(
    storage: SqlStorage,
) -> None:
    storage.add_audit_events([rec(T0 + 1, detail={"n": 1}), rec(T0, detail={"n": 0})])
    storage.add_audit_events([rec(T0 + 1, detail={"n": 2}), rec(T0 + 2, detail={"n": 3})])
    assert listed(storage) == [3, 2, 1, 0]
    assert listed(storage, newest_first=False) == [0, 1, 2, 3]


def test_pages_follow_each_other_without_a_gap_or_a_repeat(storage: SqlStorage) -> None:
    # Many rows of one instant: only the id tells them apart.
    storage.add_audit_events([rec(T0 + n // 3, detail={"n": n}) for n in range(10)])
    for newest_first in (True, False):
        seen: list[int] = []
        after = None
        while True:
            page = storage.audit_events(AuditQuery(), 3, newest_first, after)
            seen += [int(r.detail["n"]) for r in page]  # type: ignore[arg-type]
            if len(page) < 3:
                break
            assert page[-1].id is not None
            after = (page[-1].at, page[-1].id)
        assert sorted(seen) == list(range(10))
        assert len(seen) == 10


def test_the_filters_of_the_listing(storage: SqlStorage) -> None:
    storage.add_audit_events(
        [
            rec(T0, "login.failed", subject="alice", client_id="app", detail={"n": 0}),
            rec(T0 + 10, "login.locked", subject="alice", client_id="app", detail={"n": 1}),
            rec(T0 + 20, "logout", subject="bob", client_id="web", detail={"n": 2}),
            rec(T0 + 30, "logout.everywhere", subject="bob", detail={"n": 3}),
            rec(T0 + 40, "client.created", client_id="app", detail={"n": 4}),
            rec(T0 + 50, "loginx.other", detail={"n": 5}),
        ]
    )
    assert listed(storage, AuditQuery(since=T0 + 10, until=T0 + 30)) == [2, 1]
    assert listed(storage, AuditQuery(types=("login.failed", "logout"))) == [2, 0]
    # A group is its own name and every "name.*", not a mere prefix of the text.
    assert listed(storage, AuditQuery(groups=("login",))) == [1, 0]
    assert listed(storage, AuditQuery(groups=("logout",))) == [3, 2]
    assert listed(storage, AuditQuery(types=("client.created",), groups=("logout",))) == [4, 3, 2]
    assert listed(storage, AuditQuery(subject="bob")) == [3, 2]
    assert listed(storage, AuditQuery(client_id="app")) == [4, 1, 0]
    assert listed(storage, AuditQuery(client_id="app", groups=("login",), since=T0 + 5)) == [1]


def test_a_record_is_found_by_its_id_as_a_page_boundary(storage: SqlStorage) -> None:
    storage.add_audit_events([rec(T0, detail={"n": 0})])
    [read] = storage.audit_events(AuditQuery(), 1)
    assert read.id is not None
    assert storage.audit_event_key(read.id) == (T0, read.id)
    assert storage.audit_event_key(read.id + 1000) is None


@pytest.mark.parametrize("max_batches", [None, 2])
def test_purging_deletes_the_old_rows_in_bounded_batches(
    storage: SqlStorage, max_batches: int | None
) -> None:
    storage.add_audit_events([rec(T0 + n, detail={"n": n}) for n in range(12)])
    purged = storage.purge_audit_events(T0 + 10, batch=3, max_batches=max_batches)
    if max_batches is None:
        assert (purged, listed(storage, newest_first=False)) == (10, [10, 11])
    else:  # two batches of three, the oldest first; the rest waits for the next run
        assert (purged, listed(storage, newest_first=False)) == (6, list(range(6, 12)))
