"""Brute-force protection for password logins: failures counted per username and per client
address, with growing back-off and a temporary lockout shared by every replica.

From outside a locked account looks exactly like a wrong password (same answer, same time).
"""

from __future__ import annotations

import time
from typing import Protocol

from authority.settings import Settings


class LoginThrottle(Protocol):
    def allowed(self, username: str, ip: str | None, now: int) -> bool:
        """May a login for ``username`` from ``ip`` be tried now?"""

    def failed(self, username: str, ip: str | None, now: int) -> None:
        """Count a failed login."""

    def succeeded(self, username: str, ip: str | None, now: int) -> None:
        """A successful login clears the username's failures."""

    def unlock(self, username: str) -> None:
        """The operator's `authority users unlock`."""


class Unthrottled:
    """No limits (tests of other behaviour, or a deployment that throttles elsewhere)."""

    def allowed(self, username: str, ip: str | None, now: int) -> bool:
        return True

    def failed(self, username: str, ip: str | None, now: int) -> None:
        return None

    def succeeded(self, username: str, ip: str | None, now: int) -> None:
        return None

    def unlock(self, username: str) -> None:
        return None


def backoff(failures: int, allowed: int, lockout: int, grow: bool = True) -> int:
    """Seconds a key is locked after its ``failures``-th failure in a row: none for the first
    two, then 1, 2, 4, 8 ... seconds (``grow``), and the full ``lockout`` from ``allowed``
    failures on."""
    if failures >= allowed:
        return lockout
    if failures < 3 or not grow:
        return 0
    return int(min(2 ** (failures - 3), lockout))


class FailureCounter(Protocol):
    def count_failure(self, key: str, now: int, window: int) -> int: ...
    def lock_until(self, key: str, until: int) -> None: ...
    def locked_until(self, keys: list[str]) -> int: ...
    def clear_failures(self, key: str) -> None: ...


class Throttle:
    """Counts failures per username and per client address in a shared counter store (the
    database, or Redis); both must be unlocked for a login to be tried."""

    def __init__(
        self,
        counter: FailureCounter,
        max_per_user: int,
        max_per_ip: int,
        lockout: int,
        namespace: str = "",
    ) -> None:
        self._counter = counter
        self._limits = {"user": max_per_user, "ip": max_per_ip}
        self.lockout = lockout
        # Counters of another purpose (e.g. "mail:", emails sent to one address) share the
        # store but never the keys of logins.
        self._namespace = namespace

    def _keys(self, username: str, ip: str | None) -> dict[str, str]:
        keys = {"user": f"{self._namespace}user:{username.casefold()[:150]}"}
        if ip:
            keys["ip"] = f"{self._namespace}ip:{ip}"
        return keys

    def allowed(self, username: str, ip: str | None, now: int) -> bool:
        return self._counter.locked_until(list(self._keys(username, ip).values())) <= now

    def failed(self, username: str, ip: str | None, now: int) -> None:
        for kind, key in self._keys(username, ip).items():
            count = self._counter.count_failure(key, now, window=self.lockout)
            # An address may be shared (NAT, an office): it only locks at its own limit.
            delay = backoff(count, self._limits[kind], self.lockout, grow=kind == "user")
            if delay:
                self._counter.lock_until(key, now + delay)

    def succeeded(self, username: str, ip: str | None, now: int) -> None:
        # The address keeps its count: one good password must not reset a spraying address.
        self._counter.clear_failures(self._keys(username, None)["user"])

    def unlock(self, username: str) -> None:
        self._counter.clear_failures(self._keys(username, None)["user"])


class RedisCounter:
    """The failure counters in Redis (AUTHORITY_REDIS_URL): each key expires by itself."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def count_failure(self, key: str, now: int, window: int) -> int:
        name = f"authority:failures:{key}"
        with self._redis.pipeline() as pipe:
            pipe.incr(name)
            pipe.expire(name, window)
            count, _ = pipe.execute()
        return int(count)

    def lock_until(self, key: str, until: int) -> None:
        # The value decides; the expiry only collects the key once it cannot matter.
        ttl = max(until - int(time.time()), 0) + 3600
        self._redis.set(f"authority:lock:{key}", until, ex=ttl)

    def locked_until(self, keys: list[str]) -> int:
        values = self._redis.mget([f"authority:lock:{k}" for k in keys])
        return max((int(v) for v in values if v is not None), default=0)

    def clear_failures(self, key: str) -> None:
        self._redis.delete(f"authority:failures:{key}", f"authority:lock:{key}")


def build(settings: Settings, database: FailureCounter, namespace: str = "") -> Throttle:
    """Redis when AUTHORITY_REDIS_URL is set, else the database."""
    counter = RedisCounter(settings.redis_url) if settings.redis_url else database
    return Throttle(
        counter,
        settings.login_max_failures,
        settings.login_max_failures_per_ip,
        settings.login_lockout,
        namespace,
    )
