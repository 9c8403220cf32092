"""``in_thread``: a request's blocking work runs in a thread under a deadline; past it,
the request answers 503, the thread is left behind, and it holds nobody up."""

from __future__ import annotations

import queue
import threading
import time

import anyio
import pytest

from authority.errors import Overdue
from authority.storage.engine import abandoned
from authority.web.threads import in_thread

DEADLINE = 1
HANG = DEADLINE + 10  # far short of forever, far past any scheduling delay


def test_returns_what_the_work_returns_and_raises_what_it_raises() -> None:
    async def main() -> None:
        assert await in_thread(DEADLINE, lambda a, b: a + b, 2, 3) == 5
        with pytest.raises(ZeroDivisionError):
            await in_thread(DEADLINE, lambda: 1 / 0)

    anyio.run(main)


def test_work_past_the_deadline_is_overdue_and_frees_its_thread_place() -> None:
    release = threading.Event()
    limiter = anyio.CapacityLimiter(1)

    async def main() -> float:
        started = time.monotonic()
        with pytest.raises(Overdue):
            await in_thread(DEADLINE, release.wait, limiter=limiter)
        took = time.monotonic() - started
        # The stuck thread no longer counts against the limiter: the next call runs at once.
        assert await in_thread(DEADLINE, lambda: "ran", limiter=limiter) == "ran"
        return took

    try:
        took = anyio.run(main)
    finally:
        release.set()
    # At the deadline, not before; the upper bound only catches a call that waited for the work.
    assert DEADLINE <= took < HANG


def test_waiting_for_a_thread_counts_against_the_deadline() -> None:
    release = threading.Event()
    limiter = anyio.CapacityLimiter(1)
    outcomes: list[str] = []

    async def call() -> None:
        try:
            await in_thread(DEADLINE, release.wait, limiter=limiter)
            outcomes.append("done")
        except Overdue:
            outcomes.append("overdue")

    async def main() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(call)
            group.start_soon(call)  # never gets the one thread place before the deadline

    started = time.monotonic()
    try:
        anyio.run(main)
    finally:
        release.set()
    assert outcomes == ["overdue", "overdue"]
    assert time.monotonic() - started < HANG  # both gave up; neither waited for the release


def test_the_abandoned_thread_is_told_so_and_its_write_would_roll_back() -> None:
    release = threading.Event()
    seen: queue.Queue[bool] = queue.Queue()

    def work() -> None:
        release.wait()
        flag = abandoned.get()
        seen.put(flag is not None and flag.is_set())

    async def main() -> None:
        with pytest.raises(Overdue):
            await in_thread(DEADLINE, work)

    anyio.run(main)
    release.set()
    assert seen.get(timeout=5) is True
    assert abandoned.get() is None  # nothing left set in the caller's context
