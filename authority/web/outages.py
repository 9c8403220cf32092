"""Expected outages (a database or Redis that does not answer) in the log: named, one line
each, rate-limited."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from authority.errors import Overdue


def outage_kind(exc: BaseException) -> str:
    """An outage as the log names it: the error's class, and the driver's beneath it."""
    if isinstance(exc, Overdue):
        return "Overdue (no answer within AUTHORITY_DATABASE_TIMEOUT)"
    name = type(exc).__name__
    cause = getattr(exc, "orig", None)  # the DBAPI error a SQLAlchemy error wraps
    if not isinstance(cause, Exception):
        return name
    return f"{name} ({type(cause).__module__}.{type(cause).__qualname__})"


class Outages:
    """Expected outages (a database or Redis that does not answer) are logged as one WARNING
    line each, without a traceback, and at most one line a second per kind of failure: the
    lines left out are counted in the next one, so an outage cannot flood the log.

    Used on the event loop only (exception handlers, the readiness probe)."""

    def __init__(
        self,
        log: logging.Logger,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self._interval = interval
        self._clock = clock
        self._last: dict[str, tuple[float, int]] = {}  # kind -> (logged at, left out since)
        # Told of every outage, logged or not (the metrics count them by kind).
        self.listeners: list[Callable[[str], None]] = []

    def record(self, kind: str, where: str) -> None:
        for listener in self.listeners:
            listener(kind)
        now = self._clock()
        last = self._last.get(kind)
        if last is not None and now - last[0] < self._interval:
            self._last[kind] = (last[0], last[1] + 1)
            return
        self._last[kind] = (now, 0)
        left_out = f" ({last[1]} more since the last line)" if last and last[1] else ""
        self._log.warning("temporarily unavailable on %s: %s%s", where, kind, left_out)
