"""Changes every server process must see at once (signing keys, clients, users): signalled by
the very transaction that makes them, whichever process or command makes it, and watched by
one thread in each server process.

On PostgreSQL the changing transaction sends ``NOTIFY authority_changes, '<kind>:<id>'``,
which PostgreSQL delivers to every listener once, and only once, the transaction commits;
each server process keeps one connection that LISTENs, and opens it again (with back-off)
when it drops. On SQLite the transaction bumps its kind's row in ``change_generations``,
which each server process reads every ``POLL_SECONDS``: three rows, never a query per
request. Either way a process that may have missed changes (at start, after its connection
came back) is told to reload everything (``on_resync``); the periodic reload of keys and the
client cache's time to live remain the bound while the watch is down.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from typing import Protocol

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.dialects import sqlite

from authority.storage.records import Change, ChangeKind
from authority.storage.tables import change_generations

log = logging.getLogger("authority")
CHANNEL = "authority_changes"
POLL_SECONDS = 0.25  # SQLite: how often the generations are read
RETRY_FIRST, RETRY_MAX = 0.25, 5.0  # back-off between attempts to watch again


_KINDS = frozenset(ChangeKind)


def signal(conn: Connection, kind: ChangeKind, ident: str | None) -> None:
    """Inside a write transaction: every server learns of the change of ``ident`` (None: of
    several of that kind) once it commits, and never of one rolled back."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": f"{kind}:{ident or ''}"},
        )
        return
    bump = sqlite.insert(change_generations).values(kind=str(kind), generation=1)
    conn.execute(
        bump.on_conflict_do_update(
            index_elements=[change_generations.c.kind],
            set_={"generation": change_generations.c.generation + 1},
        )
    )


def parse(payload: str) -> Change | None:
    """A notification's payload; None for one this release does not know."""
    kind, _, ident = payload.partition(":")
    if kind not in _KINDS:
        return None
    return Change(ChangeKind(kind), ident or None)


class _Source(Protocol):
    def changes(self, timeout: float) -> list[Change]:
        """What changed, waiting up to ``timeout`` seconds; raises when the watch is lost."""


class _Notifications:
    """A connection of its own (not the pool's) that LISTENs, with the engine's own bounds
    (connect timeout, keepalives), named in ``pg_stat_activity`` for operators."""

    def __init__(self, engine: Engine) -> None:
        import psycopg  # only PostgreSQL deployments load it

        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        cparams.setdefault("application_name", f"authority changes (pid {os.getpid()})")
        self.conn: psycopg.Connection[tuple[object, ...]] = psycopg.connect(
            *cargs, **cparams, autocommit=True
        )
        try:
            self.conn.execute(f"LISTEN {CHANNEL}").close()
        except BaseException:
            self.conn.close()
            raise

    def changes(self, timeout: float) -> list[Change]:
        found = (parse(n.payload) for n in self.conn.notifies(timeout=timeout, stop_after=1))
        return [change for change in found if change is not None]


class _Generations:
    """The change counters, read every ``POLL_SECONDS``: a kind whose counter moved changed.
    Each read holds ``busy`` and is skipped once ``stop`` is set."""

    def __init__(self, engine: Engine, stop: threading.Event, busy: threading.Lock) -> None:
        self._engine = engine
        self._stop = stop
        self._busy = busy
        with busy:
            self._seen = {} if stop.is_set() else self._read()

    def _read(self) -> dict[str, int]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(change_generations)).all()
        return {row.kind: row.generation for row in rows}

    def changes(self, timeout: float) -> list[Change]:
        if self._stop.wait(min(timeout, POLL_SECONDS)):
            return []
        with self._busy:
            if self._stop.is_set():
                return []
            now = self._read()
        moved = [kind for kind, generation in now.items() if self._seen.get(kind) != generation]
        self._seen = now
        return [Change(ChangeKind(kind), None) for kind in moved if kind in _KINDS]


class ChangeWatcher:
    """The thread that tells this process of changes any process made: ``on_change`` for each,
    ``on_resync`` when some may have been missed (once watching starts, and again each time
    it resumes after being lost). Losing the watch is logged in one line, and its return in
    another; meanwhile the process serves from what it holds. The callbacks run on this
    thread (never the event loop) and must not raise."""

    def __init__(
        self,
        engine: Engine,
        on_change: Callable[[Change], None],
        on_resync: Callable[[], None],
        fallback: str,
    ) -> None:
        self._engine = engine
        self._on_change = on_change
        self._on_resync = on_resync
        self._fallback = fallback  # what bounds staleness while the watch is down, for the log
        self._stop = threading.Event()
        # Held while the engine's pool is used (a poll, a callback): ``stop`` waits for it, so
        # nothing uses the pool once ``stop`` has returned.
        self._busy = threading.Lock()
        self._thread: threading.Thread | None = None
        self.watching = threading.Event()  # set while changes are being watched
        # Set once the first attempt to watch is over: resynced, or failed (and logged).
        self.started = threading.Event()

    @property
    def needed(self) -> bool:
        """False for an in-memory SQLite database: no other process can change it."""
        url = self._engine.url
        return url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")

    def start(self) -> None:
        if not self.needed:
            self.started.set()
        elif self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(target=self._run, name="authority-changes", daemon=True)
            self._thread.start()

    def stop(self, wait: float = 0) -> None:
        """Stop watching (blocking: a change being applied finishes first). Nothing is
        delivered from now on; the thread ends, closing its connection, within
        ``POLL_SECONDS``, and ``wait`` seconds at most are waited for that."""
        self._stop.set()
        with self._busy:
            pass
        if self._thread is not None and wait:
            self._thread.join(wait)

    @contextlib.contextmanager
    def _source(self) -> Iterator[_Source]:
        if self._engine.dialect.name != "postgresql":
            yield _Generations(self._engine, self._stop, self._busy)
            return
        listening = _Notifications(self._engine)
        try:
            yield listening
        finally:
            with contextlib.suppress(Exception):
                listening.conn.close()

    def _run(self) -> None:
        delay, lost = RETRY_FIRST, False
        while not self._stop.is_set():
            try:
                with self._source() as source:
                    self.watching.set()
                    if lost:
                        log.warning("change notifications work again; reloading what changed")
                    delay, lost = RETRY_FIRST, False
                    self._deliver(self._on_resync)
                    self.started.set()
                    while not self._stop.is_set():
                        for change in source.changes(POLL_SECONDS):
                            self._deliver(self._on_change, change)
            except Exception as exc:
                self.watching.clear()
                if self._stop.is_set():
                    break
                if not lost:
                    log.error(
                        "change notifications lost (%s): changes made elsewhere are seen %s "
                        "until they are back",
                        type(exc).__name__,
                        self._fallback,
                    )
                lost = True
                self.started.set()
                self._stop.wait(delay)
                delay = min(delay * 2, RETRY_MAX)
        self.watching.clear()

    def _deliver(self, callback: Callable[..., None], *args: Change) -> None:
        with self._busy:
            if self._stop.is_set():
                return
            try:
                callback(*args)
            except Exception as exc:  # the callbacks guard themselves; this keeps watching
                log.error("applying a change failed: %s", type(exc).__name__)
