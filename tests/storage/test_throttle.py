"""Login throttling: back-off, lockout and recovery, in the database and in Redis."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator

import pytest

from authority.credentials.throttle import (
    Attempt,
    FailureCounter,
    Quota,
    RedisCounter,
    Throttle,
    backoff,
)
from authority.storage.sql import SqlStorage

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


def fail(throttle: Throttle, name: str, ip: str | None, now: int) -> bool:
    """One wrong password: True if it was checked at all."""
    attempt = throttle.reserve(name, ip, now)
    if attempt is None:
        return False
    throttle.failed(attempt, now)
    return True


def test_a_username_locks_after_the_allowed_failures_and_recovers(counter: FailureCounter) -> None:
    throttle, name = Throttle(counter, 5, 1000, 900), user()
    for attempt in range(1, 6):
        assert fail(throttle, name, "10.0.0.1", NOW + attempt * 100)
    assert throttle.reserve(name, "10.0.0.2", NOW + 500 + 899) is None  # from any address
    assert throttle.reserve(name, "10.0.0.2", NOW + 500 + 900) is not None
    assert throttle.reserve(user(), "10.0.0.1", NOW + 500) is not None  # the address is free


def test_back_off_between_failures_lifts_by_itself(counter: FailureCounter) -> None:
    throttle, name = Throttle(counter, 10, 1000, 900), user()
    for _ in range(3):
        assert fail(throttle, name, None, NOW)
    assert throttle.reserve(name, None, NOW) is None
    assert throttle.reserve(name, None, NOW + 1) is not None


def test_a_success_clears_the_username_and_gives_the_address_its_place_back(
    counter: FailureCounter,
) -> None:
    throttle, name, ip = Throttle(counter, 5, 4, 900), user(), f"10.1.{secrets.randbelow(250)}.9"
    for _ in range(2):
        assert fail(throttle, name, ip, NOW)
    attempt = throttle.reserve(name, ip, NOW + 2)
    assert attempt is not None and attempt.counts == {"user": 3, "ip": 3}
    throttle.succeeded(attempt, NOW + 2)
    assert fail(throttle, user(), ip, NOW + 3)  # the address's third failure
    assert fail(throttle, user(), ip, NOW + 3)  # and fourth: locked
    assert throttle.reserve(name, None, NOW + 3) is not None
    assert throttle.reserve(name, ip, NOW + 3) is None


def test_spraying_many_usernames_from_one_address_locks_the_address(
    counter: FailureCounter,
) -> None:
    throttle, ip = Throttle(counter, 5, 10, 900), f"10.2.{secrets.randbelow(250)}.7"
    for _ in range(10):
        assert fail(throttle, user(), ip, NOW)
    assert throttle.reserve(user(), ip, NOW + 10) is None
    assert throttle.reserve(user(), "10.9.9.9", NOW + 10) is not None


def test_unlock_lifts_a_lockout_at_once(counter: FailureCounter) -> None:
    throttle, name = Throttle(counter, 2, 1000, 900), user()
    assert fail(throttle, name, None, NOW)
    assert fail(throttle, name, None, NOW)
    assert throttle.reserve(name, None, NOW) is None
    throttle.unlock(name.upper())  # one lockout for every case of a name
    assert throttle.reserve(name, None, NOW) is not None


def test_old_failures_stop_counting_after_the_window(storage: SqlStorage) -> None:
    throttle, name = Throttle(storage, 3, 1000, 900), user()
    assert fail(throttle, name, None, NOW)
    assert fail(throttle, name, None, NOW + 1)
    assert fail(throttle, name, None, NOW + 2000)  # a new window: the count starts again
    assert throttle.reserve(name, None, NOW + 2000) is not None
    assert storage.purge_failures(before=NOW + 5000, now=NOW + 5000) == 1


def test_racing_attempts_reserve_no_more_than_the_limit(counter: FailureCounter) -> None:
    throttle, name, ip = Throttle(counter, 5, 1000, 900), user(), f"10.3.{secrets.randbelow(250)}.1"
    start = threading.Barrier(40)
    reserved: list[Attempt | None] = []

    def attempt() -> None:
        start.wait()
        reserved.append(throttle.reserve(name, ip, NOW))

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    granted = [a for a in reserved if a is not None]
    assert len(granted) == 5
    assert sorted(a.counts["user"] for a in granted) == [1, 2, 3, 4, 5]
    # The refused ones counted nothing, at the username or at the address.
    assert sorted(a.counts["ip"] for a in granted) == [1, 2, 3, 4, 5]


def test_a_refused_attempt_counts_nothing_anywhere(counter: FailureCounter) -> None:
    throttle, name, ip = Throttle(counter, 2, 1000, 900), user(), f"10.4.{secrets.randbelow(250)}.2"
    assert fail(throttle, name, ip, NOW)
    assert fail(throttle, name, ip, NOW)
    for _ in range(5):
        assert throttle.reserve(name, ip, NOW + 10) is None
    attempt = throttle.reserve(user(), ip, NOW + 10)
    assert attempt is not None and attempt.counts["ip"] == 3


# -- quotas: a fixed window ---------------------------------------------------------------


def test_a_quota_allows_so_many_per_window_from_the_first(counter: FailureCounter) -> None:
    quota, address = Quota(counter, "mail:", 900, per_name=3, per_ip=100), f"{user()}@example.com"
    assert [quota.take(address, "10.5.0.1", NOW + n) for n in range(4)] == [True] * 3 + [False]
    # Refused requests neither count nor move the window: one every minute changes nothing.
    for minute in range(1, 15):
        assert not quota.take(address, "10.5.0.1", NOW + minute * 60)
    assert quota.take(address, "10.5.0.1", NOW + 900)  # the next window, from the first take
    assert quota.take(address, "10.5.0.1", NOW + 901)


def test_a_quota_per_client_address_counts_every_name(counter: FailureCounter) -> None:
    quota, ip = Quota(counter, "register:", 3600, per_ip=2), f"10.6.{secrets.randbelow(250)}.3"
    assert quota.take(None, ip, NOW)
    assert quota.take(None, ip, NOW + 1)
    assert not quota.take(None, ip, NOW + 2)
    assert quota.take(None, "10.6.255.255", NOW + 2)
    assert quota.take(None, None, NOW + 2)  # no address known: nothing to count
    assert quota.take(None, ip, NOW + 3600)
