"""Login throttling: back-off, lockout and recovery, in the database and in Redis."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from authority.storage.sql import SqlStorage
from authority.throttle import FailureCounter, RedisCounter, Throttle, backoff

NOW = 1_790_000_000
REDIS_URL = os.environ.get("AUTHORITY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_REDIS = os.environ.get("AUTHORITY_TEST_REQUIRE_REDIS") == "1"


@pytest.fixture(params=["database", "redis"])
def counter(request: pytest.FixtureRequest, storage: SqlStorage) -> Iterator[FailureCounter]:
    if request.param == "database":
        yield storage
        return
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()  # database 15 belongs to these tests
    except redis.RedisError as exc:
        if REQUIRE_REDIS:
            pytest.fail(f"Redis at {REDIS_URL} is unreachable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable (set AUTHORITY_TEST_REDIS_URL)")
    yield RedisCounter(REDIS_URL)
    client.close()


def user() -> str:
    return f"user-{secrets.token_hex(4)}"  # fresh names: Redis keys outlive a test


def test_backoff_grows_then_locks_out() -> None:
    assert [backoff(n, 5, 900) for n in range(1, 7)] == [0, 0, 1, 2, 900, 900]
    assert backoff(20, 50, 900) == 900  # the doubling is capped by the lockout
    assert [backoff(n, 5, 900, grow=False) for n in range(3, 6)] == [0, 0, 900]


def test_a_username_locks_after_the_allowed_failures_and_recovers(counter) -> None:
    throttle, name = Throttle(counter, 5, 1000, 900), user()
    for attempt in range(1, 5):
        assert throttle.allowed(name, "10.0.0.1", NOW + attempt * 100)
        throttle.failed(name, "10.0.0.1", NOW + attempt * 100)
    throttle.failed(name, "10.0.0.1", NOW + 500)  # the fifth: locked out
    assert not throttle.allowed(name, "10.0.0.2", NOW + 500 + 899)  # from any address
    assert throttle.allowed(name, "10.0.0.2", NOW + 500 + 900)
    assert throttle.allowed(user(), "10.0.0.1", NOW + 500)  # the address is not locked


def test_back_off_between_failures_lifts_by_itself(counter) -> None:
    throttle, name = Throttle(counter, 10, 1000, 900), user()
    for _ in range(3):
        throttle.failed(name, None, NOW)
    assert not throttle.allowed(name, None, NOW)
    assert throttle.allowed(name, None, NOW + 1)


def test_a_success_clears_the_username_but_not_the_address(counter) -> None:
    throttle, name, ip = Throttle(counter, 5, 4, 900), user(), f"10.1.{secrets.randbelow(250)}.9"
    for _ in range(3):
        throttle.failed(name, ip, NOW)
    throttle.succeeded(name, ip, NOW + 2)
    throttle.failed(user(), ip, NOW + 3)  # the address's fourth failure: locked
    assert throttle.allowed(name, None, NOW + 3)
    assert not throttle.allowed(name, ip, NOW + 3)


def test_spraying_many_usernames_from_one_address_locks_the_address(counter) -> None:
    throttle, ip = Throttle(counter, 5, 10, 900), f"10.2.{secrets.randbelow(250)}.7"
    for _ in range(10):
        throttle.failed(user(), ip, NOW)
    assert not throttle.allowed(user(), ip, NOW + 10)
    assert throttle.allowed(user(), "10.9.9.9", NOW + 10)


def test_unlock_lifts_a_lockout_at_once(counter) -> None:
    throttle, name = Throttle(counter, 2, 1000, 900), user()
    throttle.failed(name, None, NOW)
    throttle.failed(name, None, NOW)
    assert not throttle.allowed(name, None, NOW)
    throttle.unlock(name)
    assert throttle.allowed(name, None, NOW)


def test_old_failures_stop_counting_after_the_window(storage: SqlStorage) -> None:
    throttle, name = Throttle(storage, 3, 1000, 900), user()
    throttle.failed(name, None, NOW)
    throttle.failed(name, None, NOW + 1)
    throttle.failed(name, None, NOW + 2000)  # a new window: the count starts again
    assert throttle.allowed(name, None, NOW + 2000)
    assert storage.purge_failures(before=NOW + 5000, now=NOW + 5000) == 1
