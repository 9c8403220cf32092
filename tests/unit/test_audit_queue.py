"""The server's audit writer: a bounded queue that never blocks a request, emptied by one
thread in batches; a full queue drops and counts, an unreachable database keeps the events."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from authority.events import ActorKind, Event, EventType, RequestContext, current_request
from authority.observe.audit import AuditQueue, keeps, record_of
from authority.storage import AuditQuery, AuditRecord


class Store:
    """An audit store that keeps what it is given, and fails when told to."""

    def __init__(self) -> None:
        self.batches: list[list[AuditRecord]] = []
        self.failure: Exception | None = None
        self.written = threading.Event()

    def add_audit_events(self, records: Sequence[AuditRecord]) -> None:
        if self.failure is not None:
            raise self.failure
        self.batches.append(list(records))
        self.written.set()

    def audit_events(
        self,
        query: AuditQuery,
        limit: int,
        newest_first: bool = True,
        after: tuple[float, int] | None = None,
    ) -> list[AuditRecord]:
        raise NotImplementedError

    def audit_event_key(self, event_id: int) -> tuple[float, int] | None:
        raise NotImplementedError

    def purge_audit_events(
        self, before: float, batch: int = 1000, max_batches: int | None = None
    ) -> int:
        raise NotImplementedError

    @property
    def rows(self) -> list[AuditRecord]:
        return [r for batch in self.batches for r in batch]


def failed(n: int) -> Event:
    return Event(EventType.LOGIN_FAILED, ActorKind.CLIENT, "app", detail={"n": n})


KEEP_ALL = keeps(client_credentials=False)
OUTAGE = OperationalError("INSERT ...", {}, Exception("connection refused"))


def test_events_wait_in_the_queue_until_a_flush_writes_them_in_one_batch() -> None:
    store = Store()
    queue = AuditQueue(store, KEEP_ALL, batch=10)
    for n in range(3):
        queue(failed(n))
    assert store.batches == []
    assert queue.flush() == 3
    [batch] = store.batches
    assert [r.detail["n"] for r in batch] == [0, 1, 2]


def test_the_thread_flushes_by_itself_every_interval() -> None:
    store = Store()
    queue = AuditQueue(store, KEEP_ALL, interval=0.05)
    queue.start()
    try:
        queue(failed(1))
        assert store.written.wait(2.0)
    finally:
        queue.close()
    assert [r.detail["n"] for r in store.rows] == [1]


def test_a_full_batch_wakes_the_thread_before_the_interval() -> None:
    store = Store()
    queue = AuditQueue(store, KEEP_ALL, interval=3600, batch=5)
    queue.start()
    try:
        for n in range(5):
            queue(failed(n))
        assert store.written.wait(2.0)
    finally:
        queue.close()
    assert len(store.rows) == 5


def test_a_flush_writes_at_most_a_batch_per_transaction() -> None:
    store = Store()
    queue = AuditQueue(store, KEEP_ALL, batch=4)
    for n in range(10):
        queue(failed(n))
    queue.flush()
    assert [len(b) for b in store.batches] == [4, 4, 2]


def test_closing_writes_what_is_queued_and_stops_the_thread() -> None:
    store = Store()
    queue = AuditQueue(store, KEEP_ALL, interval=3600)
    queue.start()
    for n in range(3):
        queue(failed(n))
    queue.close()
    assert [r.detail["n"] for r in store.rows] == [0, 1, 2]
    assert not any(t.name == "authority-audit" and t.is_alive() for t in threading.enumerate())


def test_a_full_queue_drops_and_counts_instead_of_blocking(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Store()
    queue = AuditQueue(store, KEEP_ALL, capacity=3)
    started = time.perf_counter()
    for n in range(1000):
        queue(failed(n))
    assert time.perf_counter() - started < 1.0  # generous: it never waits for anything
    assert (queue.queued, queue.dropped) == (3, 997)
    assert caplog.text.count("audit trail: dropping events: the queue is full") == 1
    queue.flush()
    assert [r.detail["n"] for r in store.rows] == [0, 1, 2]
    assert "audit trail: 997 events were dropped" in caplog.text


def test_while_the_database_is_unreachable_events_stay_queued_in_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Store()
    queue = AuditQueue(store, KEEP_ALL, batch=2)
    for n in range(3):
        queue(failed(n))
    store.failure = OUTAGE
    assert queue.flush() == 0
    assert queue.flush() == 0
    queue(failed(3))
    assert caplog.text.count("audit trail: writing failed (OperationalError)") == 1
    store.failure = None
    assert queue.flush() == 4
    assert [r.detail["n"] for r in store.rows] == [0, 1, 2, 3]
    assert queue.dropped == 0
    assert "audit trail: writing works again" in caplog.text


def test_an_outage_longer_than_the_queue_drops_the_newest_and_counts_them() -> None:
    store = Store()
    queue = AuditQueue(store, KEEP_ALL, capacity=4, batch=4)
    store.failure = OUTAGE
    for n in range(4):
        queue(failed(n))
    queue.flush()
    for n in range(4, 8):
        queue(failed(n))
    assert queue.dropped == 4
    store.failure = None
    queue.flush()
    assert [r.detail["n"] for r in store.rows] == [0, 1, 2, 3]


def test_a_batch_the_database_refuses_is_dropped_not_retried_forever() -> None:
    store = Store()
    queue = AuditQueue(store, KEEP_ALL)
    queue(failed(0))
    store.failure = IntegrityError("INSERT ...", {}, Exception("refused"))
    queue.flush()
    store.failure = None
    queue(failed(1))
    queue.flush()
    assert (queue.dropped, [r.detail["n"] for r in store.rows]) == (1, [1])


def test_token_responses_are_kept_only_for_client_credentials_and_only_when_asked() -> None:
    def issued(grant: str) -> Event:
        return Event(EventType.TOKEN_ISSUED, ActorKind.CLIENT, "c", detail={"grant_type": grant})

    off, on = keeps(client_credentials=False), keeps(client_credentials=True)
    assert not off(issued("client_credentials"))
    assert on(issued("client_credentials"))
    assert not on(issued("password"))
    assert not on(issued("refresh_token"))
    assert off(failed(1))


def test_a_row_carries_the_request_and_is_cut_to_its_columns() -> None:
    token = current_request.set(RequestContext("r" * 300, "203.0.113.9", "agent/" + "x" * 400))
    try:
        event = Event(
            EventType.LOGIN_FAILED,
            ActorKind.CLIENT,
            "a" * 500,
            detail={"username": "u" * 2000, "count": 3},
        )
    finally:
        current_request.reset(token)
    record = record_of(event)
    assert (record.type, record.actor_kind) == ("login.failed", "client")
    assert record.actor == "a" * 200
    assert record.request_id == "r" * 128
    assert record.ip == "203.0.113.9"
    assert record.user_agent is not None and len(record.user_agent) == 256
    assert record.detail == {"username": "u" * 500, "count": 3}
    assert record.at == event.at
