"""Credentials at rest: argon2id for passwords, a keyed fast hash for generated secrets."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from authority.credentials import legacy_hashes

MAX_PASSWORD_BYTES = 1024
T = TypeVar("T")


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    new_hash: str | None = None  # set when the stored hash used old parameters


class Passwords:
    """argon2id (RFC 9106) with OWASP parameters by default; unknown users cost the same."""

    def __init__(
        self, time_cost: int, memory_cost: int, parallelism: int, max_concurrent: int = 0
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
        )
        # Each argon2 run holds memory_cost KiB. Runs happen on a few dedicated threads, one
        # per usable core: a burst of logins queues instead of starving everything else, and
        # the same threads reuse the same memory, so it is neither faulted in again for
        # every login nor held once per thread of a larger pool.
        self._threads = ThreadPoolExecutor(
            max_workers=max_concurrent or usable_cpus(), thread_name_prefix="argon2"
        )
        # Verified against when the user does not exist, so both paths cost one argon2 run.
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    def _run(self, work: Callable[..., T], *args: str) -> T:
        return self._threads.submit(work, *args).result()

    def hash(self, password: str) -> str:
        return self._run(self._hasher.hash, password)

    def verify(self, stored: str | None, password: str) -> PasswordCheck:
        if len(password.encode()) > MAX_PASSWORD_BYTES:
            self._burn(password[:64])
            return PasswordCheck(ok=False)
        if stored is None:
            self._burn(password)
            return PasswordCheck(ok=False)
        if legacy_hashes.is_legacy(stored):
            # Imported from Django: checked as Django checks it, then re-hashed to argon2id.
            if not self._run(legacy_hashes.verify, stored, password):
                if legacy_hashes.is_fast(stored):  # a miss costs what it costs elsewhere
                    self._burn(password)
                return PasswordCheck(ok=False)
            return PasswordCheck(ok=True, new_hash=self.hash(password))
        try:
            self._run(self._hasher.verify, stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return PasswordCheck(ok=False)
        if self._hasher.check_needs_rehash(stored):
            return PasswordCheck(ok=True, new_hash=self.hash(password))
        return PasswordCheck(ok=True)

    def _burn(self, password: str) -> None:
        with contextlib.suppress(VerificationError):
            self._run(self._hasher.verify, self._dummy, password)


class SecretDigest:
    """HMAC-SHA-256 under a server key, for secrets we generate (client secrets, refresh tokens).

    They carry 256 bits of randomness, so a slow hash would add no safety, only cost; the key
    means a stolen database alone cannot confirm a guessed secret.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the hash key must hold at least 32 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "SecretDigest(key=***)"

    def digest(self, secret: str) -> str:
        return hmac.new(self._key, secret.encode(), hashlib.sha256).hexdigest()

    def derive(self, purpose: str) -> bytes:
        """A 256-bit key of its own for ``purpose``, derived from the server key (HMAC as a
        PRF, as HKDF-Expand does), so one secret serves several uses without reuse."""
        return hmac.new(self._key, b"derive\x00" + purpose.encode(), hashlib.sha256).digest()

    def matches(self, secret: str, *stored: str | None) -> bool:
        """Does ``secret`` match one of the ``stored`` digests? Each is compared in constant
        time, and all of them always: the time tells neither whether nor which one matched."""
        computed = self.digest(secret)
        found = False
        for value in stored:
            # Against a fixed value when nothing is stored, so every path costs the same.
            same = hmac.compare_digest(computed, value or "0" * 64)
            found |= same & (value is not None)
        return found


def usable_cpus() -> int:
    """The cores this process may run on (taskset and cgroups narrow os.cpu_count())."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def new_id() -> str:
    """A URL-safe identifier (128 bits) that never starts with '-', so it is never taken
    for an option on a command line."""
    while True:
        value = secrets.token_urlsafe(16)
        if value[0] != "-":
            return value


def new_secret() -> str:
    """A URL-safe secret with 256 bits of randomness."""
    return secrets.token_urlsafe(32)
