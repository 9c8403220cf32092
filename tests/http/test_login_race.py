"""Guesses racing the throttle: a burst gets no more password checks than the limit allows.

The counts live in the database (SQLite, PostgreSQL) or in Redis; each burst is 40 wrong
guesses at once, with the password checks held until all of them have been answered or are
being checked, and then the right password.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator

import httpx2
import pytest
from starlette.testclient import TestClient

from authority.credentials.hashing import PasswordCheck
from authority.runtime import Authority
from authority.settings import Settings
from tests.conftest import Registered
from tests.http.account_helpers import PASSWORD, bearer, login
from tests.http.helpers import assert_error

REDIS_URL = os.environ.get("AUTHORITY_TEST_REDIS_RACE_URL", "redis://127.0.0.1:6379/13")
LIMIT = 5
BURST = 40


@pytest.fixture(params=["database", "redis"])
def settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    settings = settings.replace(login_max_failures=LIMIT)
    if request.param == "database":
        return settings
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()  # database 13 belongs to these tests
    except redis.RedisError as exc:
        if os.environ.get("AUTHORITY_TEST_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis at {REDIS_URL} is unreachable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable")
    finally:
        client.close()
    return settings.replace(redis_url=REDIS_URL)


@pytest.fixture
def many_threads(authority: Authority) -> None:
    """As many password grants at once as there are guesses, as behind many replicas."""
    authority.limiters["password"].total_tokens = BURST + 8


class HeldChecks:
    """Counts checks of a password against alice's stored hash, holding each until
    ``release``; a check without a stored hash (the locked-out path) runs at once."""

    def __init__(self, authority: Authority, monkeypatch: pytest.MonkeyPatch) -> None:
        self.checked = 0
        self.released = threading.Event()
        self._lock = threading.Lock()
        verify = authority.passwords.verify

        def held(stored: str | None, password: str) -> PasswordCheck:
            if stored is not None:
                with self._lock:
                    self.checked += 1
                self.released.wait(20)
            return verify(stored, password)

        monkeypatch.setattr(authority.passwords, "verify", held)


def until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def burst(send: Callable[[str], httpx2.Response], held: HeldChecks) -> list[httpx2.Response]:
    """40 wrong guesses at once, then the right password while the checks are held."""
    answers: dict[int, httpx2.Response] = {}

    def guess(n: int, password: str) -> None:
        answers[n] = send(password)

    threads = [threading.Thread(target=guess, args=(n, f"wrong guess {n}")) for n in range(BURST)]
    for thread in threads:
        thread.start()
    until(lambda: held.checked + len(answers) >= BURST, 20)
    right = threading.Thread(target=guess, args=(BURST, PASSWORD))
    right.start()
    until(lambda: BURST in answers or held.checked > LIMIT, 10)
    held.released.set()
    for thread in [*threads, right]:
        thread.join(30)
    return [answers[n] for n in range(BURST + 1)]


@pytest.fixture
def held(authority: Authority, monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldChecks]:
    checks = HeldChecks(authority, monkeypatch)
    yield checks
    checks.released.set()


def test_a_burst_of_password_grants_gets_at_most_the_limit_of_checks(
    http: TestClient,
    authority: Authority,
    app_client: Registered,
    alice: str,
    many_threads: None,
    held: HeldChecks,
) -> None:
    answers = burst(lambda password: login(http, app_client, password), held)

    for answer in answers:  # the right password too: it came after the limit was taken
        assert_error(answer, 400, "invalid_grant", "invalid username or password")
    assert held.checked == LIMIT
    held.checked = 0
    assert_error(
        login(http, app_client, PASSWORD), 400, "invalid_grant", "invalid username or password"
    )
    assert held.checked == 0  # locked out: not even checked


def test_a_burst_of_password_changes_gets_at_most_the_limit_of_checks(
    http: TestClient,
    authority: Authority,
    app_client: Registered,
    alice: str,
    held: HeldChecks,
) -> None:
    held.released.set()  # the sign-in first
    access = login(http, app_client, PASSWORD).json()["access_token"]
    held.released.clear()
    held.checked = 0

    def change(current: str) -> httpx2.Response:
        data = {"current_password": current, "new_password": "maple syrup on the moon"}
        return http.post("/accounts/password/change", json=data, headers=bearer(access))

    answers = burst(change, held)

    for answer in answers:
        assert_error(answer, 400, "invalid_password", "the current password is wrong")
    assert held.checked == LIMIT
    user = authority.storage.get_user(alice)
    assert user is not None
    assert authority.passwords.verify(user.password_hash, PASSWORD).ok  # unchanged
