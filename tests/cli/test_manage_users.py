"""`authority users set-password` ending sessions, `users update`, `users delete` and
`users list --limit/--after/--search`."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from authority.storage.sql import SqlStorage
from authority.storage.tables import families, refresh_tokens, revoked_access_tokens
from tests.cli.support import Run, assert_failed
from tests.cli.test_sessions import _login, _sign_in
from tests.cli.test_users import _password_hash
from tests.storage.factories import make_user

PASSWORD = "correct horse battery\n"
NEW_PASSWORD = "another long passphrase\n"


def _user(run: Run, username: str = "alice", *extra: str) -> dict[str, Any]:
    return run(
        "users", "create", username, "--password-stdin", *extra, "--json", stdin=PASSWORD
    ).json()


def _signed_in(run: Run, database_url: str) -> tuple[str, list[str], str]:
    """alice with two app sessions and a signed-in browser: (sub, family ids, browser id)."""
    client = run(
        "clients", "create", "app", "--grant", "password", "--grant", "refresh_token",
        "--scope", "read", "--json",
    ).json()  # fmt: skip
    sub = str(_user(run)["sub"])
    families = [_login(database_url, client["client_id"], sub) for _ in range(2)]
    return sub, families, _sign_in(database_url, sub)


def _denied_jtis(database_url: str, sub: str) -> tuple[int, int]:
    """(access tokens of sub's sessions, of those on the deny-list)."""
    storage = SqlStorage.from_url(database_url)
    try:
        with storage.engine.connect() as conn:
            issued = (
                select(refresh_tokens.c.access_jti)
                .join(families, families.c.family_id == refresh_tokens.c.family_id)
                .where(families.c.sub == sub)
            )
            total = conn.execute(select(func.count()).select_from(issued.subquery())).scalar_one()
            denied = conn.execute(
                select(func.count()).where(revoked_access_tokens.c.jti.in_(issued))
            ).scalar_one()
            return int(total), int(denied)
    finally:
        storage.close()


def _sessions(run: Run, username: str = "alice") -> list[dict[str, Any]]:
    return list(run("users", "sessions", username, "--json").json()["sessions"])


# -- set-password -----------------------------------------------------------------------------


def test_set_password_ends_every_session_and_says_how_many(run: Run, database_url: str) -> None:
    sub, _, _ = _signed_in(run, database_url)
    assert len(_sessions(run)) == 3

    result = run("users", "set-password", "alice", "--password-stdin", stdin=NEW_PASSWORD)

    assert (result.code, result.out) == (0, "password of alice set; 2 sessions ended\n")
    assert _sessions(run) == []  # the browser too
    assert _denied_jtis(database_url, sub) == (2, 2)


def test_set_password_json_counts_the_ended_sessions(run: Run, database_url: str) -> None:
    _signed_in(run, database_url)
    before = _password_hash(database_url, "alice")

    done = run(
        "users", "set-password", "alice", "--password-stdin", "--json", stdin=NEW_PASSWORD
    ).json()

    assert (done["sessions_ended"], done["sessions_kept"], done["username"]) == (2, False, "alice")
    assert _password_hash(database_url, "alice") != before


def test_keep_sessions_leaves_them_running_and_says_so(run: Run, database_url: str) -> None:
    sub, _, _ = _signed_in(run, database_url)
    before = _password_hash(database_url, "alice")

    result = run(
        "users", "set-password", "alice", "--password-stdin", "--keep-sessions", stdin=NEW_PASSWORD
    )

    assert (result.code, result.out) == (
        0,
        "password of alice set; sessions kept (--keep-sessions)\n",
    )
    assert len(_sessions(run)) == 3
    assert _denied_jtis(database_url, sub) == (2, 0)
    assert _password_hash(database_url, "alice") != before


# -- delete -----------------------------------------------------------------------------------


def test_delete_ends_the_sessions_and_removes_the_account(run: Run, database_url: str) -> None:
    sub, _, _ = _signed_in(run, database_url)
    client_id = run("clients", "list", "--json").json()["clients"][0]["client_id"]

    done = run("users", "delete", "alice", "--json").json()

    assert done == {"sub": sub, "username": "alice", "deleted": True}
    assert_failed(run("users", "show", "alice"), "no user 'alice'")
    storage = SqlStorage.from_url(database_url)
    try:
        assert storage.list_sessions(sub, 0) == [] and storage.list_browser_sessions(sub, 0) == []
        assert storage.get_client(client_id) is not None
    finally:
        storage.close()
    # Its tokens stay denied after the account has gone (introspection must refuse them).
    storage = SqlStorage.from_url(database_url)
    try:
        with storage.engine.connect() as conn:
            count = select(func.count()).select_from(revoked_access_tokens)
            assert conn.execute(count).scalar_one() == 2
    finally:
        storage.close()
    # The name is free again.
    assert _user(run)["sub"] != sub


def test_delete_of_an_unknown_user_fails(run: Run) -> None:
    assert_failed(run("users", "delete", "nobody"), "no user 'nobody'")


def test_delete_says_what_it_did(run: Run) -> None:
    _user(run)

    result = run("users", "delete", "alice")

    assert (result.code, result.out) == (0, "user alice deleted; their sessions ended\n")


# -- update -----------------------------------------------------------------------------------


def test_update_renames_and_readdresses_a_user(run: Run) -> None:
    sub = _user(run, "alice", "--email", "alice@example.com")["sub"]

    updated = run(
        "users", "update", "alice", "--username", "Alicia", "--email", "Alicia@Example.COM",
        "--json",
    ).json()  # fmt: skip

    assert (updated["sub"], updated["username"]) == (sub, "Alicia")
    assert (updated["email"], updated["email_verified"]) == ("alicia@example.com", False)
    assert_failed(run("users", "show", "alice"), "no user 'alice'")
    cleared = run("users", "update", "Alicia", "--no-email", "--json").json()
    assert cleared["email"] is None
    human = run("users", "update", "Alicia", "--username", "alice")
    assert human.out == "user alice updated, email -\n"


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (("--username", "BOB"), ("username 'BOB' is taken",)),
        (("--username", "two words"), ("a username holds",)),
        (("--email", "bob@example.com"), ("belongs to another account",)),
        (("--email", "BOB@example.com"), ("belongs to another account",)),
        (("--email", "not-an-email"), ("is not an email address",)),
        ((), ("name a change",)),
    ],
)
def test_update_refuses_what_registration_refuses_and_changes_nothing(
    run: Run, flags: tuple[str, ...], words: tuple[str, ...]
) -> None:
    _user(run, "alice", "--email", "alice@example.com")
    _user(run, "bob", "--email", "bob@example.com")
    before = run("users", "show", "alice", "--json").json()

    assert_failed(run("users", "update", "alice", *flags, "--json"), *words)
    assert run("users", "show", "alice", "--json").json() == before


def test_update_takes_either_email_or_no_email(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    _user(run)

    with pytest.raises(SystemExit) as exited:
        run("users", "update", "alice", "--email", "a@example.com", "--no-email")

    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_update_of_an_unknown_user_fails(run: Run) -> None:
    assert_failed(run("users", "update", "nobody", "--username", "x"), "no user 'nobody'")


# -- list -------------------------------------------------------------------------------------


def test_list_pages_by_username_with_a_next_cursor(run: Run) -> None:
    for name in ("dave", "alice", "carol", "bob", "erin"):
        _user(run, name)

    first = run("users", "list", "--limit", "2", "--json").json()
    second = run("users", "list", "--limit", "2", "--after", first["next"], "--json").json()
    last = run("users", "list", "--limit", "2", "--after", second["next"], "--json").json()

    assert [u["username"] for u in first["users"]] == ["alice", "bob"]
    assert [u["username"] for u in second["users"]] == ["carol", "dave"]
    assert [u["username"] for u in last["users"]] == ["erin"]
    assert (first["next"], second["next"]) == ("bob", "dave")
    assert "next" not in last
    exact = run("users", "list", "--limit", "5", "--json").json()
    assert len(exact["users"]) == 5 and "next" not in exact


def test_list_searches_usernames_and_addresses_in_any_case(run: Run) -> None:
    _user(run, "alice", "--email", "alice@wonderland.example")
    _user(run, "bob", "--email", "bob@builders.example")
    _user(run, "malice")

    def found(text: str) -> list[str]:
        users = run("users", "list", "--search", text, "--json").json()["users"]
        return [u["username"] for u in users]

    assert found("ALICE") == ["alice", "malice"]
    assert found("Builders") == ["bob"]
    assert found("zzz") == []
    human = run("users", "list", "--search", "alice", "--limit", "1")
    assert human.out.splitlines()[-1] == "(more: --after alice)"


@pytest.mark.parametrize("limit", ["0", "1001", "-3"])
def test_list_refuses_a_limit_out_of_range(run: Run, limit: str) -> None:
    assert_failed(run("users", "list", "--limit", limit), "--limit must be 1 to 1000")


def test_update_readdresses_a_user_whose_old_name_predates_the_rule(
    run: Run, database_url: str
) -> None:
    storage = SqlStorage.from_url(database_url)
    try:
        storage.add_user(make_user("old name"))
    finally:
        storage.close()

    updated = run("users", "update", "old name", "--email", "old@example.com", "--json").json()

    assert (updated["username"], updated["email"]) == ("old name", "old@example.com")
    assert_failed(run("users", "update", "old name", "--username", "new name"), "a username holds")
