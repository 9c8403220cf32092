"""``Outages``: at most one line a second per kind of outage, the rest counted."""

from __future__ import annotations

import logging

import pytest

from authority.web.outages import Outages
from tests.conftest import FakeClock


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records]


def test_one_line_a_second_per_kind_and_the_left_out_ones_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(1000.0)
    outages = Outages(logging.getLogger("authority.test"), interval=1.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="authority.test"):
        for _ in range(100):
            outages.record("TimeoutError", "POST /token")
            clock.advance(0.005)
        outages.record("Overdue", "GET /sessions")  # another kind has a line of its own
        clock.advance(0.6)
        outages.record("TimeoutError", "POST /introspect")
    assert lines(caplog) == [
        "temporarily unavailable on POST /token: TimeoutError",
        "temporarily unavailable on GET /sessions: Overdue",
        "temporarily unavailable on POST /introspect: TimeoutError (99 more since the last line)",
    ]
    assert all(r.exc_info is None for r in caplog.records)


def test_a_later_outage_after_a_quiet_second_is_logged_plainly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(1000.0)
    outages = Outages(logging.getLogger("authority.test"), clock=clock)
    with caplog.at_level(logging.WARNING, logger="authority.test"):
        outages.record("OperationalError", "GET /readyz")
        clock.advance(5)
        outages.record("OperationalError", "GET /readyz")
    assert lines(caplog) == ["temporarily unavailable on GET /readyz: OperationalError"] * 2
