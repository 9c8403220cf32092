"""The audit trail: the events worth keeping, written to storage as rows.

The server writes them off the request path (``AuditQueue``): recording an event appends it
to a bounded in-memory queue, and one thread writes what has queued every ``interval``
seconds (sooner once ``batch`` events wait) in one short transaction per ``batch`` rows, so
no request waits for the trail and SQLite's one writer is held only for a few milliseconds.
A full queue drops what comes next, counted and logged, rather than slowing requests down;
while the database is unreachable the queued events are kept (up to the queue's capacity) and
written once it is back. The queue is flushed when the server shuts down: the events of a
process that is killed (SIGKILL, a crash) in the last ``interval`` are lost.

The command line writes each event at once (``AuditWriter``): an operator's change is in the
trail when the command returns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from authority.events import Event, EventType
from authority.storage import AuditRecord, AuditStore
from authority.storage.engine import OUTAGE_ERRORS

log = logging.getLogger("authority")
# The widths of the audit_events columns: longer values are cut, never refused.
_WIDTHS = {"actor": 200, "subject": 200, "client_id": 64, "ip": 64, "user_agent": 256}
MAX_REQUEST_ID = 128
MAX_DETAIL_ITEMS = 16
MAX_DETAIL_TEXT = 500
# The server's queue: flushed every INTERVAL seconds, or as soon as BATCH events wait; at most
# CAPACITY events held (about 5 MB), beyond which new ones are dropped.
INTERVAL = 0.2
BATCH = 500
CAPACITY = 20_000
# How long shutdown waits for the writer thread's last flush.
CLOSE_TIMEOUT = 10.0
# At most one line per this many seconds says how many events were dropped.
DROP_LOG_SECONDS = 10.0

Keep = Callable[[Event], bool]


def keeps(client_credentials: bool) -> Keep:
    """Which events the trail keeps: all but token responses, and with
    ``client_credentials`` those of the client_credentials grant (the metrics count the rest)."""

    def keep(event: Event) -> bool:
        if event.type is EventType.TOKEN_ISSUED:
            return client_credentials and event.detail.get("grant_type") == "client_credentials"
        return True

    return keep


def hears(client_credentials: bool) -> Callable[[EventType], bool]:
    """The types the trail listens to: without ``client_credentials``, not token responses,
    so a token costs it nothing at all."""
    return lambda type: client_credentials or type is not EventType.TOKEN_ISSUED


def record_of(event: Event) -> AuditRecord:
    """The row an event is kept as; every value cut to its column's width."""
    request = event.request
    detail: dict[str, str | int | bool | None] = {}
    for name, value in list(event.detail.items())[:MAX_DETAIL_ITEMS]:
        detail[name[:64]] = value[:MAX_DETAIL_TEXT] if isinstance(value, str) else value
    return AuditRecord(
        at=event.at,
        type=event.type.value,
        actor_kind=event.actor_kind.value,
        actor=_cut(event.actor, "actor"),
        subject=_cut(event.subject, "subject"),
        client_id=_cut(event.client_id, "client_id"),
        ip=_cut(request.ip if request else None, "ip"),
        user_agent=_cut(request.user_agent if request else None, "user_agent"),
        request_id=request.request_id[:MAX_REQUEST_ID] if request else None,
        detail=detail,
    )


def _cut(value: str | None, column: str) -> str | None:
    return value[: _WIDTHS[column]] if value is not None else None


class AuditWriter:
    """Writes each kept event at once, in its own transaction (the command line's)."""

    def __init__(self, store: AuditStore, keep: Keep) -> None:
        self._store = store
        self._keep = keep

    def __call__(self, event: Event) -> None:
        if self._keep(event):
            self._store.add_audit_events([record_of(event)])


class AuditQueue:
    """The server's audit writer: a bounded queue and the thread that empties it (see the
    module's docstring). ``__call__`` is the events listener and never blocks."""

    def __init__(
        self,
        store: AuditStore,
        keep: Keep,
        interval: float = INTERVAL,
        batch: int = BATCH,
        capacity: int = CAPACITY,
    ) -> None:
        self._store = store
        self._keep = keep
        self.interval = interval
        self._batch = batch
        self._capacity = capacity
        # Events, not rows: turning one into a row is left to the writer thread.
        self._queue: deque[Event] = deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._flushing = threading.Lock()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.dropped = 0  # since the start: the queue was full, or a batch could not be stored
        self._dropped_unlogged = 0
        self._drop_logged_at = 0.0
        self._counting = threading.Lock()
        self._failing = False

    def __call__(self, event: Event) -> None:
        if not self._keep(event):
            return
        if len(self._queue) >= self._capacity:
            self._drop(1, "the queue is full")
            return
        self._queue.append(event)  # deque.append is atomic: no lock on the request path
        if len(self._queue) >= self._batch:
            self._wake.set()

    @property
    def queued(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        """Start the writer thread (again after ``close``); a no-op while it runs."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="authority-audit", daemon=True)
        self._thread.start()

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Stop the writer thread after it has written what is queued (shutdown)."""
        thread = self._thread
        self._stopping.set()
        self._wake.set()
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.error("audit trail: %d events still unwritten at shutdown", len(self._queue))
                return
        self.flush()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()
        self.flush()

    def flush(self) -> int:
        """Write every queued event, ``batch`` rows per transaction; returns how many were
        written. While the database is unreachable the events stay queued."""
        written = 0
        with self._flushing:
            while self._queue:
                events = [self._queue.popleft() for _ in range(min(self._batch, len(self._queue)))]
                if not self._write(events):
                    break
                written += len(events)
        self.written += written
        return written

    def _write(self, events: list[Event]) -> bool:
        try:
            self._store.add_audit_events([record_of(e) for e in events])
        except OUTAGE_ERRORS as exc:
            # Kept for the next flush, in their order; what no longer fits is dropped.
            room = max(self._capacity - len(self._queue), 0)
            kept = events[:room]
            self._queue.extendleft(reversed(kept))
            if len(kept) < len(events):
                self._drop(len(events) - len(kept), "the database is unreachable")
            if not self._failing:
                log.warning("audit trail: writing failed (%s); retrying", type(exc).__name__)
            self._failing = True
            return False
        except Exception as exc:
            self._drop(len(events), f"they could not be stored ({type(exc).__name__})")
            return True
        if self._failing:
            log.warning("audit trail: writing works again")
        self._failing = False
        self._log_drops()
        return True

    def _drop(self, count: int, why: str) -> None:
        """Count events that will never be written: the first is logged with why, then how
        many in one line at most every DROP_LOG_SECONDS."""
        with self._counting:
            first = not self._dropped_unlogged
            self.dropped += count
            self._dropped_unlogged += count
        if first:
            log.error("audit trail: dropping events: %s", why)

    def _log_drops(self) -> None:
        now = time.monotonic()
        if not self._dropped_unlogged or now - self._drop_logged_at < DROP_LOG_SECONDS:
            return
        with self._counting:
            count, self._dropped_unlogged = self._dropped_unlogged, 0
        self._drop_logged_at = now
        log.warning("audit trail: %d events were dropped", count)
