"""The password policy, one for registration, reset, change and the operator CLI: a minimum
length, a maximum size, and a strength estimate (zxcvbn) that knows the user's own names.

The estimate's cost is bounded, since anyone who may register can make us run it: it sees at
most ``ESTIMATED_CHARS`` characters, tries at most ``MAX_L33T_READINGS`` l33t readings of
them, and runs one at a time per process (``bench/password_policy.py`` measures it).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from authority.credentials.hashing import MAX_PASSWORD_BYTES
from authority.errors import TemporarilyUnavailable, description_text

# zxcvbn's scores: 3 is "safely unguessable" (about 10^8 guesses and more), what an online
# attacker against a throttled login cannot reach and an offline one against argon2id pays
# dearly for.
MIN_SCORE = 3
# The estimate's dictionary matching grows with the square of the length, once per l33t
# reading. 32 characters are more than any score needs (score 4 takes about 10^10 guesses: a
# dozen random characters, or four random words), and keep one dictionary match near 0.6 ms
# here (3 ms at 64, 5 ms at 72), so that even a busy machine answers within 50 ms. A longer
# password is as strong as its first 32 characters, never stronger.
ESTIMATED_CHARS = 32
# zxcvbn reads a password once for every combination of l33t substitutions it might use
# (@ -> a, 1 -> i or l, ( -> c ...), up to 736 of them for 20 distinct symbols, each a full
# dictionary match. Real passwords need one or two readings; the first 8, in a fixed order,
# keep every verdict of those, the same verdict for the same password, and the cost bounded.
MAX_L33T_READINGS = 8
# One estimate at a time per process: zxcvbn keeps the user's inputs in a module-level dict
# (two at once would judge each other's passwords against each other's names), and each is
# tens of milliseconds of CPU that a burst should queue for, not share. A request that
# waits longer than this is told to retry instead of tying up its thread.
MAX_WAIT_SECONDS = 2.0
_SEPARATORS = re.compile(r"[._+\-@]+")
_ESTIMATES = threading.Lock()
_ESTIMATOR: Callable[..., Mapping[str, Any]] | None = None


class EstimatorBusy(TemporarilyUnavailable):
    description = "too many password checks at once; retry shortly"


class PasswordPolicy:
    def __init__(self, min_length: int, min_score: int = MIN_SCORE) -> None:
        self.min_length = min_length
        self.min_score = min_score

    def problem(self, password: str, user_inputs: Iterable[str | None] = ()) -> str | None:
        """Why ``password`` is refused, in one sentence for the user; None when it is fine.

        ``user_inputs`` are words an attacker would try first for this account: its
        username and email address. Blocking (tens of milliseconds of CPU): call it on a
        thread, never on the event loop.
        """
        if len(password.encode()) > MAX_PASSWORD_BYTES:
            return f"a password may hold at most {MAX_PASSWORD_BYTES} bytes"
        if len(password) < self.min_length:
            return f"a password needs at least {self.min_length} characters"
        result = estimate(password, _user_words(user_inputs))
        if result["score"] >= self.min_score:
            return None
        if any(m.get("dictionary_name") == "user_inputs" for m in result["sequence"]):
            return "the password is too close to the username or email address"
        feedback = result["feedback"]
        hints = [feedback.get("warning") or "", *feedback.get("suggestions", [])]
        detail = " ".join(h.strip() for h in hints if h.strip())
        reason = "the password is too easy to guess"
        return description_text(f"{reason}: {detail}" if detail else reason)


def estimate(password: str, user_inputs: list[str]) -> Mapping[str, Any]:
    """zxcvbn's result for the first ``ESTIMATED_CHARS`` characters, one call at a time."""
    zxcvbn = _estimator()
    if not _ESTIMATES.acquire(timeout=MAX_WAIT_SECONDS):
        raise EstimatorBusy()
    try:
        return zxcvbn(password[:ESTIMATED_CHARS], user_inputs=user_inputs)
    finally:
        _ESTIMATES.release()


def _estimator() -> Callable[..., Mapping[str, Any]]:
    """zxcvbn, with its l33t enumeration bounded; imported on first use (its dictionaries
    cost about 13 MB, and only password setters need them)."""
    global _ESTIMATOR
    if _ESTIMATOR is None:
        from zxcvbn import matching, zxcvbn

        # The one override of zxcvbn: l33t_match asks this module-level function for the
        # readings to try, and gets at most MAX_L33T_READINGS of them.
        matching.enumerate_l33t_subs = l33t_readings
        _ESTIMATOR = zxcvbn
        return zxcvbn
    return _ESTIMATOR


def l33t_readings(table: Mapping[str, Iterable[str]]) -> list[dict[str, str]]:
    """At most ``MAX_L33T_READINGS`` ways to read a password's l33t symbols as letters.

    ``table`` maps each letter to the symbols of the password that may stand for it (what
    zxcvbn's ``relevant_l33t_subtable`` gives). A reading maps symbols to letters, one
    symbol per letter and one letter per symbol, and leaves no letter out that a free
    symbol could stand for, as zxcvbn's own enumeration does; the order is fixed (letters
    and symbols in the table's order, a letter's first symbol first), so the same password
    always gets the same readings.
    """
    subs = {letter: list(symbols) for letter, symbols in table.items()}
    letters = list(subs)
    readings: list[dict[str, str]] = []
    # Every reading is a leaf of this search; the budget bounds its nodes too, so even a
    # table whose leaves are mostly incomplete costs a few thousand steps at most.
    budget = [64 * MAX_L33T_READINGS]

    def later_wants(symbol: str, index: int) -> bool:
        return any(symbol in subs[letter] for letter in letters[index + 1 :])

    def walk(index: int, reading: dict[str, str]) -> None:
        budget[0] -= 1
        if len(readings) >= MAX_L33T_READINGS or budget[0] < 0:
            return
        if index == len(letters):
            taken = set(reading.values())
            complete = all(
                letter in taken or all(s in reading for s in subs[letter]) for letter in letters
            )
            if reading and complete:
                readings.append(dict(reading))
            return
        letter = letters[index]
        free = [s for s in subs[letter] if s not in reading]
        for symbol in free:
            reading[symbol] = letter
            walk(index + 1, reading)
            del reading[symbol]
        # Leaving this letter out is another reading only if each of its free symbols can
        # still stand for a later letter (else the reading would leave a letter out).
        if not free or all(later_wants(s, index) for s in free):
            walk(index + 1, reading)

    walk(0, {})
    return readings


def _user_words(values: Iterable[str | None]) -> list[str]:
    """The values, and their parts: "alice.liddell@example.com" gives "alice.liddell",
    "alice" and "liddell" too (a domain's parts are too common to count)."""
    words: list[str] = []
    for value in values:
        if not value:
            continue
        local, _, _ = value.partition("@")
        parts = [p for p in _SEPARATORS.split(local) if len(p) >= 3]
        words.extend(dict.fromkeys([value, local, *parts]))
    return words
