"""`authority users ...`: provisioning users whose passwords come on standard input."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from authority.credentials.hashing import Passwords
from authority.storage.sql import SqlStorage
from authority.storage.tables import users
from tests.cli.support import Run, assert_failed

PASSWORD = "correct horse battery"


def _create(run: Run, username: str = "alice", *extra: str) -> dict[str, object]:
    return run(
        "users", "create", username, "--password-stdin", *extra, "--json", stdin=PASSWORD + "\n"
    ).json()


def _password_hash(database_url: str, username: str) -> str:
    storage = SqlStorage.from_url(database_url)
    try:
        with storage.engine.connect() as conn:
            stmt = select(users.c.password_hash).where(users.c.username == username)
            return str(conn.execute(stmt).scalar_one())
    finally:
        storage.close()


def _usernames(run: Run) -> list[str]:
    return [u["username"] for u in run("users", "list", "--json").json()["users"]]


# -- refused -------------------------------------------------------------------------------


def test_a_taken_username_is_refused(run: Run) -> None:
    _create(run)

    result = run(
        "users", "create", "alice", "--password-stdin", "--json", stdin="another long passphrase\n"
    )

    assert_failed(result, "alice", "taken")
    assert _usernames(run) == ["alice"]


@pytest.mark.parametrize(
    ("stdin", "word"),
    [
        ("short\n", "at least 10 characters"),
        ("\n", "no password"),
        ("", "no password"),
        ("password1234\n", "too easy to guess: This is a very common password."),
        ("alice1234567\n", "too close to the username or email address"),
        ("x" * 1025 + "\n", "at most 1024 bytes"),
    ],
)
def test_a_missing_short_or_weak_password_is_refused(run: Run, stdin: str, word: str) -> None:
    result = run("users", "create", "alice", "--password-stdin", "--json", stdin=stdin)

    assert_failed(result, word)
    assert _usernames(run) == []


@pytest.mark.parametrize(
    ("username", "extra", "word"),
    [
        ("two words", (), "username"),
        ("tab\tname", (), "username"),
        ("alice\n", (), "username"),
        ("alice", ("--email", "alice@example.com\n"), "email"),
        ("alice", ("--email", "not-an-email"), "email"),
    ],
)
def test_a_bad_username_or_email_is_refused(
    run: Run, username: str, extra: tuple[str, ...], word: str
) -> None:
    result = run("users", "create", username, "--password-stdin", *extra, "--json", stdin=PASSWORD)

    assert_failed(result, word)


@pytest.mark.parametrize("action", ["show", "disable", "enable"])
def test_an_unknown_username_fails(run: Run, action: str) -> None:
    assert_failed(run("users", action, "nobody", "--json"), "nobody")


def test_set_password_for_an_unknown_user_fails(run: Run) -> None:
    result = run("users", "set-password", "nobody", "--password-stdin", stdin=PASSWORD)

    assert_failed(result, "nobody")


def test_set_password_refuses_a_short_password_and_keeps_the_old(
    run: Run, database_url: str
) -> None:
    _create(run)
    before = _password_hash(database_url, "alice")

    result = run("users", "set-password", "alice", "--password-stdin", stdin="short\n")

    assert_failed(result, "at least 10 characters")
    assert _password_hash(database_url, "alice") == before


def test_set_password_refuses_a_password_made_of_the_email_address(
    run: Run, database_url: str
) -> None:
    _create(run, "alice", "--email", "alice.liddell@example.com")
    before = _password_hash(database_url, "alice")

    result = run("users", "set-password", "alice", "--password-stdin", stdin="alice.liddell2024\n")

    assert_failed(result, "too close to the username or email address")
    assert _password_hash(database_url, "alice") == before


def test_the_minimum_length_is_the_setting(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHORITY_PASSWORD_MIN_LENGTH", "24")

    result = run("users", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n")

    assert_failed(result, "at least 24 characters")
    assert _usernames(run) == []


def test_an_email_address_is_stored_lower_cased(run: Run) -> None:
    created = _create(run, "alice", "--email", "Alice@Example.COM")

    assert created["email"] == "alice@example.com"


# -- create, list, show, disable, enable, set-password -------------------------------------


def test_create_prints_the_user_without_any_password_hash(run: Run, database_url: str) -> None:
    created = _create(run, "alice", "--email", "alice@example.com")

    assert set(created) == {"sub", "username", "email", "email_verified", "disabled", "created_at"}
    assert created["email_verified"] is False
    assert created["username"] == "alice"
    assert created["email"] == "alice@example.com"
    assert created["disabled"] is False
    stored = _password_hash(database_url, "alice")
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert Passwords(1, 1024, 1).verify(stored, PASSWORD).ok


def test_the_password_is_the_line_without_its_newline(run: Run, database_url: str) -> None:
    run("users", "create", "bob", "--password-stdin", stdin=" spaced out \nsecond line\n")

    stored = _password_hash(database_url, "bob")

    assert Passwords(1, 1024, 1).verify(stored, " spaced out ").ok


def test_list_and_show_never_include_password_hashes(run: Run) -> None:
    alice = _create(run, "alice")
    _create(run, "bob")

    listed = run("users", "list", "--json")
    shown = run("users", "show", "alice", "--json")

    assert [u["username"] for u in listed.json()["users"]] == ["alice", "bob"]
    assert shown.json() == alice
    for output in (listed.out, shown.out):
        assert "password" not in output
        assert "$argon2" not in output


def test_disable_and_enable_a_user(run: Run) -> None:
    _create(run)

    assert run("users", "disable", "alice", "--json").json()["disabled"] is True
    assert run("users", "show", "alice", "--json").json()["disabled"] is True
    assert run("users", "enable", "alice", "--json").json()["disabled"] is False
    assert run("users", "show", "alice", "--json").json()["disabled"] is False


def test_set_password_replaces_the_password(run: Run, database_url: str) -> None:
    _create(run)

    result = run(
        "users", "set-password", "alice", "--password-stdin", "--json", stdin="a new passphrase\n"
    )

    assert result.json()["username"] == "alice"
    assert "$argon2" not in result.out
    stored = _password_hash(database_url, "alice")
    passwords = Passwords(1, 1024, 1)
    assert passwords.verify(stored, "a new passphrase").ok
    assert not passwords.verify(stored, PASSWORD).ok


def test_unlock_lets_a_locked_out_user_try_again(run: Run) -> None:
    run("users", "create", "carol", "--password-stdin", stdin="long enough password\n")
    assert run("users", "unlock", "carol", "--json").json() == {
        "username": "carol",
        "unlocked": True,
    }
    assert_failed(run("users", "unlock", "nobody"), "no user")


# -- one identity rule, as for registration -------------------------------------------------


@pytest.mark.parametrize(
    "username",
    [
        "\uff41\uff4c\uff49\uff43\uff45",  # fullwidth
        "ali\u200bce",  # zero-width space
        "\u202eecila",  # right-to-left override
        "\u0430lice",  # Cyrillic a, then Latin
        "\u0301alice",  # a combining mark on nothing
        "alice\u00a0bob",  # no-break space
        "alice\x7f",  # a control character
        "Visit-https://evil.example/prize",
    ],
)
def test_a_confusable_or_invisible_username_is_refused(run: Run, username: str) -> None:
    result = run("users", "create", username, "--password-stdin", "--json", stdin=PASSWORD)

    assert_failed(result, "a username holds 1 to 150 letters or digits of one script")
    assert _usernames(run) == []


@pytest.mark.parametrize("other", ["Alice", "ALICE", "alicE"])
def test_a_username_differing_only_in_case_is_taken(run: Run, other: str) -> None:
    _create(run)

    result = run("users", "create", other, "--password-stdin", "--json", stdin=PASSWORD)

    assert_failed(result, other, "taken")
    assert _usernames(run) == ["alice"]


@pytest.mark.parametrize(
    "email",
    ["victim@corp.example,postmaster", '"victim"@corp.example', "<victim@corp.example>"],
)
def test_an_address_that_is_not_plain_is_refused(run: Run, email: str) -> None:
    result = run(
        "users", "create", "victim", "--password-stdin", "--email", email, "--json", stdin=PASSWORD
    )

    assert_failed(result, "is not an email address")
    assert _usernames(run) == []
