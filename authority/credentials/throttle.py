"""Brute-force protection and caps, in counters shared by every replica (the database, or
Redis).

Logins: every attempt reserves its place in the counts of its username and of its client
address before the password is checked, in one atomic step, and is refused when either is
full: however many guesses race, at most the limit's worth are ever checked. A failure then
backs off or locks; a success gives the username a clean slate and its address its place
back. From outside a locked account looks exactly like a wrong password (same answer, same
time).

Quotas (mails to one address, registrations from one client address): at most so many per
fixed window, which starts with the first one counted; a refused request counts nothing and
moves no window.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from authority.settings import Settings

# Counters are collected once they are older than this (every window is at most a day:
# AUTHORITY_LOGIN_LOCKOUT allows no more, and the quotas use less).
LONGEST_WINDOW = 86400
# Registrations one client address may make per window (AUTHORITY_REGISTRATION_MAX_PER_IP).
REGISTRATION_WINDOW = 3600


@dataclass(frozen=True)
class Attempt:
    """A login attempt holding its place in the counts; ``counts`` include it."""

    keys: dict[str, str]  # "user" and, when the client address is known, "ip"
    counts: dict[str, int]


class LoginThrottle(Protocol):
    def reserve(self, username: str, ip: str | None, now: int) -> Attempt | None:
        """Count an attempt for ``username`` from ``ip`` before its password is checked;
        None when it must not be checked (locked out, or the limit is taken)."""

    def failed(self, attempt: Attempt, now: int) -> None:
        """The attempt's password was wrong: back off, or lock out."""

    def succeeded(self, attempt: Attempt, now: int) -> None:
        """The attempt's password was right: the username's count is cleared."""

    def unlock(self, username: str) -> None:
        """The operator's `authority users unlock`."""


class Unthrottled:
    """No limits (tests of other behaviour, or a deployment that throttles elsewhere)."""

    def reserve(self, username: str, ip: str | None, now: int) -> Attempt | None:
        return Attempt({}, {})

    def failed(self, attempt: Attempt, now: int) -> None:
        return None

    def succeeded(self, attempt: Attempt, now: int) -> None:
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
    def reserve(
        self, limits: dict[str, int], now: int, window: int, sliding: bool = True
    ) -> dict[str, int] | None:
        """Add one to every key of ``limits`` and return the new counts, all or nothing:
        nothing when a key already holds its limit or is locked. A key's count starts again
        ``window`` seconds after its last count (``sliding``) or its first one."""

    def lock_until(self, key: str, until: int) -> None: ...

    def forget(self, clear: list[str], release: list[str]) -> None:
        """Drop the counts of ``clear``, and one count of each key of ``release``."""


def _user_key(namespace: str, username: str) -> str:
    # Usernames are unique ignoring case, so "Alice" and "alice" are one lockout.
    return f"{namespace}user:{username.casefold()[:150]}"


class Throttle:
    """The login throttle: per username and per client address, with back-off."""

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
        self._namespace = namespace

    def _keys(self, username: str, ip: str | None) -> dict[str, str]:
        keys = {"user": _user_key(self._namespace, username)}
        if ip:
            keys["ip"] = f"{self._namespace}ip:{ip}"
        return keys

    def reserve(self, username: str, ip: str | None, now: int) -> Attempt | None:
        keys = self._keys(username, ip)
        limits = {key: self._limits[kind] for kind, key in keys.items()}
        counts = self._counter.reserve(limits, now, self.lockout)
        if counts is None:
            return None
        return Attempt(keys, {kind: counts[key] for kind, key in keys.items()})

    def failed(self, attempt: Attempt, now: int) -> None:
        for kind, key in attempt.keys.items():
            # An address may be shared (NAT, an office): it only locks at its own limit.
            delay = backoff(attempt.counts[kind], self._limits[kind], self.lockout, kind == "user")
            if delay:
                self._counter.lock_until(key, now + delay)

    def succeeded(self, attempt: Attempt, now: int) -> None:
        # The address only gets this attempt's place back: one good password must not
        # reset the count of an address that sprays guesses at many usernames.
        release = [attempt.keys["ip"]] if "ip" in attempt.keys else []
        self._counter.forget([attempt.keys["user"]], release)

    def unlock(self, username: str) -> None:
        self._counter.forget([_user_key(self._namespace, username)], [])


class Quota:
    """At most ``per_name`` events for one name (an email address) and ``per_ip`` for one
    client address in each fixed ``window``; None leaves that kind unlimited."""

    def __init__(
        self,
        counter: FailureCounter,
        namespace: str,
        window: int,
        per_name: int | None = None,
        per_ip: int | None = None,
    ) -> None:
        self._counter = counter
        self._namespace = namespace
        self.window = window
        self._per_name = per_name
        self._per_ip = per_ip

    def take(self, name: str | None, ip: str | None, now: int) -> bool:
        """Count one event if every limit has room; False (and nothing counted) if not."""
        limits: dict[str, int] = {}
        if name is not None and self._per_name is not None:
            limits[f"{self._namespace}name:{name[:150]}"] = self._per_name
        if ip and self._per_ip is not None:
            limits[f"{self._namespace}ip:{ip}"] = self._per_ip
        if not limits:
            return True
        return self._counter.reserve(limits, now, self.window, sliding=False) is not None


# KEYS: the counters; ARGV: now, window, sliding (1 or 0), seconds to keep a counter, then
# one limit per key. Each counter is a hash mirroring the database's row; the values decide,
# the expiry only collects a counter once it cannot matter.
_RESERVE = """
local now, window, sliding, keep = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
local rows = {}
for i, key in ipairs(KEYS) do
  local row = redis.call('HMGET', key, 'failures', 'locked_until', 'updated_at')
  local failures, locked, updated = tonumber(row[1]) or 0, tonumber(row[2]) or 0, tonumber(row[3])
  if updated == nil or updated <= now - window then
    failures, locked, updated = 0, 0, now
  elseif failures >= tonumber(ARGV[4 + i]) or locked > now then
    return false
  end
  if sliding == '1' then updated = now end
  rows[i] = {failures + 1, locked, updated}
end
local counts = {}
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 'failures', rows[i][1], 'locked_until', rows[i][2],
             'updated_at', rows[i][3])
  redis.call('EXPIRE', key, keep)
  counts[i] = rows[i][1]
end
return counts
"""
_RELEASE = """
for _, key in ipairs(KEYS) do
  if (tonumber(redis.call('HGET', key, 'failures')) or 0) > 0 then
    redis.call('HINCRBY', key, 'failures', -1)
  end
end
"""


class RedisCounter:
    """The counters in Redis (AUTHORITY_REDIS_URL), each step one atomic script."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._reserve = self._redis.register_script(_RESERVE)
        self._release = self._redis.register_script(_RELEASE)

    @staticmethod
    def _name(key: str) -> str:
        return f"authority:throttle:{key}"

    def reserve(
        self, limits: dict[str, int], now: int, window: int, sliding: bool = True
    ) -> dict[str, int] | None:
        keys = sorted(limits)
        keep = window + LONGEST_WINDOW
        args = [now, window, int(sliding), keep, *(limits[k] for k in keys)]
        counts = self._reserve(keys=[self._name(k) for k in keys], args=args)
        if not counts:
            return None
        return {key: int(count) for key, count in zip(keys, counts, strict=True)}

    def lock_until(self, key: str, until: int) -> None:
        self._redis.hset(self._name(key), "locked_until", until)
        # The value decides; the expiry only collects the key once it cannot matter.
        self._redis.expire(self._name(key), max(until - int(time.time()), 0) + LONGEST_WINDOW)

    def forget(self, clear: list[str], release: list[str]) -> None:
        if clear:
            self._redis.delete(*(self._name(k) for k in clear))
        if release:
            self._release(keys=[self._name(k) for k in release])


def counter(settings: Settings, database: FailureCounter) -> FailureCounter:
    """Where the counters live: Redis when AUTHORITY_REDIS_URL is set, else the database."""
    return RedisCounter(settings.redis_url) if settings.redis_url else database


def build(settings: Settings, counters: FailureCounter) -> Throttle:
    """The login throttle of these settings."""
    return Throttle(
        counters,
        settings.login_max_failures,
        settings.login_max_failures_per_ip,
        settings.login_lockout,
    )


def _redis_outage_errors() -> tuple[type[Exception], ...]:
    """A Redis server unreachable or too slow: an outage, answered 503 like the database's."""
    try:
        from redis.exceptions import ConnectionError as RedisUnreachable
        from redis.exceptions import TimeoutError as RedisTimeout
    except ImportError:  # Redis is an extra: without it no Redis error can happen
        return ()
    return (RedisUnreachable, RedisTimeout)


REDIS_OUTAGE_ERRORS = _redis_outage_errors()
