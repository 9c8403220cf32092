"""The password policy: length limits, strength, and the user's own names."""

from __future__ import annotations

import pytest

from authority.password_policy import PasswordPolicy

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
