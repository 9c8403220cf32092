"""`authority users sessions|logout` and `authority prune`."""

from __future__ import annotations

import secrets
import time

from authority.storage import BrowserSession, Family, IssuedAccess
from authority.storage.sql import SqlStorage
from tests.cli.support import Run, assert_failed


def _login(database_url: str, client_id: str, sub: str) -> str:
    """A session as a password grant starts it."""
    now = int(time.time())
    storage = SqlStorage.from_url(database_url)
    family_id = secrets.token_hex(8)
    storage.start_family(
        Family(family_id, client_id, sub, ("read",), (), now, now, now, now + 3600),
        secrets.token_hex(32),
        now + 600,
        IssuedAccess(secrets.token_hex(8), now + 900),
    )
    storage.close()
    return family_id


def _sign_in(database_url: str, sub: str) -> str:
    """A browser signed in on the hosted pages."""
    now = int(time.time())
    session_id = secrets.token_hex(8)
    storage = SqlStorage.from_url(database_url)
    session = BrowserSession(session_id, sub, now, ("pwd",), now, now, now + 3600)
    storage.start_browser_session(session, secrets.token_hex(32))
    storage.close()
    return session_id


def _setup(run: Run, database_url: str) -> tuple[str, list[str]]:
    client = run(
        "clients",
        "create",
        "web",
        "--grant",
        "password",
        "--grant",
        "refresh_token",
        "--scope",
        "read",
        "--json",
    ).json()
    user = run(
        "users", "create", "alice", "--password-stdin", "--json", stdin="long enough password\n"
    ).json()
    ids = [_login(database_url, client["client_id"], user["sub"]) for _ in range(2)]
    return user["sub"], ids


def test_sessions_lists_live_sessions_and_logout_ends_one_then_all(
    run: Run, database_url: str
) -> None:
    _, ids = _setup(run, database_url)
    listed = run("users", "sessions", "alice", "--json").json()["sessions"]
    assert sorted(s["id"] for s in listed) == sorted(ids)
    assert set(listed[0]) == {
        "id",
        "kind",
        "client_id",
        "scope",
        "created_at",
        "last_used_at",
        "expires_at",
        "current",
    }
    assert {s["kind"] for s in listed} == {"app"}

    assert run("users", "logout", "alice", "--session", ids[0], "--json").json() == {"ended": 1}
    left = run("users", "sessions", "alice", "--json").json()["sessions"]
    assert [s["id"] for s in left] == [ids[1]]
    assert run("users", "logout", "alice", "--json").json() == {"ended": 1}
    assert run("users", "sessions", "alice", "--json").json() == {"sessions": []}


def test_logout_of_an_unknown_session_or_user_fails_with_one_line(
    run: Run, database_url: str
) -> None:
    _setup(run, database_url)
    assert_failed(run("users", "logout", "alice", "--session", "nope"), "no live session")
    assert_failed(run("users", "sessions", "nobody"), "no user")


def test_prune_deletes_ended_sessions_and_reports_counts(run: Run, database_url: str) -> None:
    _setup(run, database_url)
    run("users", "logout", "alice", "--json")
    done = run("prune", "--json").json()
    assert done["sessions"] == 2
    assert done["denied_access_tokens"] == 0  # the ended sessions' tokens are still live
    assert done["keys"] == []
    assert done["links"] == 0  # no link was ever sent
    assert run("prune", "--json").json()["sessions"] == 0


def test_sessions_lists_signed_in_browsers_and_logout_ends_one(run: Run, database_url: str) -> None:
    sub, ids = _setup(run, database_url)
    browser = _sign_in(database_url, sub)

    listed = run("users", "sessions", "alice", "--json").json()["sessions"]
    text = run("users", "sessions", "alice").out

    assert [s["kind"] for s in listed] == ["app", "app", "browser"]
    assert set(listed[2]) == {"id", "kind", "created_at", "auth_time", "expires_at", "current"}
    assert listed[2]["id"] == browser
    assert text.splitlines()[0].split() == [
        "id",
        "kind",
        "client_id",
        "created_at",
        "last_used_at",
        "expires_at",
    ]
    assert any(line.startswith(browser) and " browser " in line for line in text.splitlines())
    assert run("users", "logout", "alice", "--session", browser, "--json").json() == {"ended": 1}
    left = run("users", "sessions", "alice", "--json").json()["sessions"]
    assert sorted(s["id"] for s in left) == sorted(ids)
    assert_failed(run("users", "logout", "alice", "--session", browser), "no live session")
