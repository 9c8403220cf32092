"""Blocking work off the event loop: every storage call and password hash of a request runs
in a thread, under AUTHORITY_DATABASE_TIMEOUT, some under a thread limiter of their own
(``Authority.limiters``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar, TypeVarTuple

import anyio

from authority.errors import Overdue
from authority.storage.engine import abandoned

T = TypeVar("T")
Args = TypeVarTuple("Args")


async def in_thread(
    deadline: float,
    work: Callable[[*Args], T],
    *args: *Args,
    limiter: anyio.CapacityLimiter | None = None,
) -> T:
    """Run a request's blocking work (storage, password hashing) in a worker thread, off the
    event loop, within ``deadline`` seconds (AUTHORITY_DATABASE_TIMEOUT), the wait for a free
    thread included.

    When the deadline passes the request answers 503 (``Overdue``) and the thread is left to
    finish alone: it no longer holds a place of the thread limiter, so threads stuck on a
    stalled database never queue the requests behind them, and a write it still makes rolls
    back instead of committing (``storage.engine.abandoned``).
    """
    flag = threading.Event()
    token = abandoned.set(flag)
    try:
        with anyio.move_on_after(deadline):
            return await anyio.to_thread.run_sync(
                work, *args, abandon_on_cancel=True, limiter=limiter
            )
        flag.set()
        raise Overdue()
    finally:
        abandoned.reset(token)
