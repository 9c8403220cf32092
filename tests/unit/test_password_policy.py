"""The password policy: length limits, strength, and the user's own names."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from authority.credentials.password_policy import PasswordPolicy

POLICY = PasswordPolicy(min_length=10)
ALICE = ("alice", "alice.liddell@wonderland.example")


@pytest.mark.parametrize(
    "password",
    ["correct horse battery", "maple syrup on the moon", "pässwörd ✓ 🔑 ok", "x7#Qm!2vL9@z"],
)
def test_accepts_a_strong_password(password: str) -> None:
    assert POLICY.problem(password, ALICE) is None


def test_the_minimum_length_is_the_settings_and_counts_characters() -> None:
    assert PasswordPolicy(min_length=12).problem("tiger lily", ALICE) == (
        "a password needs at least 12 characters"
    )
    assert POLICY.problem("grüße 🔑 wä", ALICE) is None  # 10 characters, 16 bytes
    assert POLICY.problem("grüße 🔑 w", ALICE) == "a password needs at least 10 characters"


def test_refuses_more_than_1024_bytes_before_estimating_anything() -> None:
    assert POLICY.problem("é" * 513, ALICE) == "a password may hold at most 1024 bytes"
    assert POLICY.problem("correct horse battery " * 46, ALICE) is None  # 1012 bytes


def test_a_long_password_is_as_strong_as_its_beginning() -> None:
    assert POLICY.problem("a" * 1000, ALICE) is not None
    assert POLICY.problem("a" * 72 + "correct horse battery staple", ALICE) is not None


@pytest.mark.parametrize("password", ["alice1234567", "liddell12345", "Alice.Liddell!"])
def test_refuses_the_users_own_names(password: str) -> None:
    assert POLICY.problem(password, ALICE) == (
        "the password is too close to the username or email address"
    )


def test_the_reason_is_printable_ascii_without_quotes() -> None:
    reason = POLICY.problem("aaaaaaaaaaaaaa", ALICE)

    assert reason is not None
    assert reason.startswith("the password is too easy to guess: Repeats like 'aaa'")
    assert all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in reason)


# -- the estimate's cost ------------------------------------------------------------------

L33T_SYMBOLS = "4@8({[<3691!|70$5+%2"
# 72 characters of every l33t symbol zxcvbn knows, and a few letters: stock zxcvbn tries 736
# readings of it, each a full dictionary match, for seconds of CPU.
CRAFTED = (("h|e7@65$|fg9$!%<5{9{e(2f6+" + L33T_SYMBOLS) * 2)[:72]


@pytest.mark.parametrize(
    "password",
    ["P@ssw0rd123!", "p@55w0rd!!", "L3tm31n!2024", "M0nk3y!M0nk3y!", "qwerty123456"],
)
def test_refuses_common_passwords_spelt_in_l33t(password: str) -> None:
    assert POLICY.problem(password, ALICE) is not None


def test_a_crafted_l33t_password_is_judged_within_the_work_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from zxcvbn import matching

    from authority.credentials import password_policy

    POLICY.problem("warm up the estimator", ALICE)  # installs the bounded enumeration
    readings: list[int] = []
    seen: list[int] = []
    enumerate_subs, omnimatch = matching.enumerate_l33t_subs, matching.omnimatch

    def counted_subs(table: dict[str, list[str]]) -> list[dict[str, str]]:
        subs: list[dict[str, str]] = enumerate_subs(table)
        readings.append(len(subs))
        return subs

    def measured(password: str, *args: Any, **kwargs: Any) -> object:
        seen.append(len(password))
        return omnimatch(password, *args, **kwargs)

    monkeypatch.setattr(matching, "enumerate_l33t_subs", counted_subs)
    monkeypatch.setattr(matching, "omnimatch", measured)

    for password in (CRAFTED, (CRAFTED * 15)[:1024], (CRAFTED[::-1] * 15)[:1024]):
        readings.clear()
        assert len(password.encode()) <= 1024
        POLICY.problem(password, ALICE)  # whatever the verdict
        assert readings and max(readings) <= password_policy.MAX_L33T_READINGS
        assert max(seen) <= password_policy.ESTIMATED_CHARS


def test_l33t_readings_are_bounded_and_always_the_same() -> None:
    from zxcvbn import matching

    from authority.credentials import password_policy

    table = matching.relevant_l33t_subtable(L33T_SYMBOLS, matching.L33T_TABLE)
    first = password_policy.l33t_readings(table)

    assert len(first) == password_policy.MAX_L33T_READINGS
    assert password_policy.l33t_readings(table) == first
    for reading in first:  # one letter per symbol, one symbol per letter
        assert len(set(reading.values())) == len(reading)
        assert all(symbol in table[letter] for symbol, letter in reading.items())
    # A password with few symbols keeps every reading zxcvbn would make of it.
    few = matching.relevant_l33t_subtable("l1ttl3 |1|", matching.L33T_TABLE)
    assert password_policy.l33t_readings(few) == [
        {"3": "e", "1": "i", "|": "l"},
        {"3": "e", "|": "i", "1": "l"},
    ]


def test_estimates_run_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from authority.credentials import password_policy

    running, most = [0], [0]
    guard = threading.Lock()

    def estimator(password: str, user_inputs: list[str]) -> dict[str, object]:
        with guard:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.01)
        with guard:
            running[0] -= 1
        return {"score": 4, "sequence": [], "feedback": {}}

    monkeypatch.setattr(password_policy, "_ESTIMATOR", estimator)
    threads = [
        threading.Thread(target=POLICY.problem, args=(f"password number {n}", (f"user{n}",)))
        for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert most[0] == 1


def test_a_check_that_waits_too_long_is_told_to_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    from authority.credentials import password_policy

    monkeypatch.setattr(password_policy, "MAX_WAIT_SECONDS", 0.05)
    with password_policy._ESTIMATES, pytest.raises(password_policy.EstimatorBusy) as refused:
        POLICY.problem("correct horse battery", ALICE)

    assert (refused.value.status_code, refused.value.body()) == (
        503,
        {
            "error": "temporarily_unavailable",
            "error_description": "too many password checks at once; retry shortly",
        },
    )
