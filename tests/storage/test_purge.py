"""Purging ended sessions and expired deny-list entries leaves live rows alone."""

from __future__ import annotations

import secrets
from dataclasses import replace

from authority.storage import Client, Family, IssuedAccess, User
from authority.storage.sql import SqlStorage

NOW = 1_790_000_000
DAY = 86400


def _pair(storage: SqlStorage) -> tuple[Client, User]:
    client = Client(
        "c1", "app", "0" * 64, ("password", "refresh_token"), ("read",), ("read",), (), False, NOW
    )
    user = User("u1", "alice", None, "x", False, NOW)
    storage.add_client(client)
    storage.add_user(user)
    return client, user


def _session(storage: SqlStorage, max_age: int = 90 * DAY, token_ttl: int = 30 * DAY) -> str:
    family_id = secrets.token_hex(8)
    storage.start_family(
        Family(family_id, "c1", "u1", ("read",), (), NOW, NOW, NOW, NOW + max_age),
        secrets.token_hex(32),
        NOW + token_ttl,
        IssuedAccess(secrets.token_hex(8), NOW + 900),
    )
    return family_id


def test_purge_deletes_dead_sessions_in_batches_and_keeps_live_ones(storage: SqlStorage) -> None:
    _pair(storage)
    live = [_session(storage) for _ in range(3)]
    revoked = [_session(storage) for _ in range(4)]
    for family_id in revoked:
        storage.revoke_family(family_id, NOW + 1)
    idle = [_session(storage, token_ttl=60) for _ in range(2)]  # only token expired
    ended_by_age = [_session(storage, max_age=100) for _ in range(1)]

    # Once their access tokens (NOW + 900) have expired too; in several batches of two.
    done = storage.purge(NOW + 900, batch=2)

    assert done["sessions"] == len(revoked) + len(idle) + len(ended_by_age)
    assert {f.family_id for f in storage.list_sessions("u1", NOW + 900)} == set(live)
    for family_id in live:
        assert storage.get_family(family_id) is not None
    for family_id in revoked + idle + ended_by_age:
        assert storage.get_family(family_id) is None
    assert storage.purge(NOW + 900) == {"sessions": 0, "denied_access_tokens": 0}


def test_purge_keeps_deny_list_entries_until_their_token_expires(storage: SqlStorage) -> None:
    storage.deny_access_token("early", NOW + 100, NOW)
    storage.deny_access_token("late", NOW + 1000, NOW)
    assert storage.purge(NOW + 100)["denied_access_tokens"] == 1
    assert not storage.is_access_token_denied("early")
    assert storage.is_access_token_denied("late")


def test_ending_sessions_twice_ends_nothing_the_second_time(storage: SqlStorage) -> None:
    _pair(storage)
    _session(storage)
    assert storage.end_sessions("u1", NOW + 10) == 1
    assert storage.end_sessions("u1", NOW + 10) == 0
    assert storage.list_sessions("u1", NOW + 10) == []


def _login_without_refresh_token(storage: SqlStorage, access_ttl: int = 900) -> str:
    """A family of one access token, whose jti is the family id."""
    family_id = secrets.token_hex(8)
    expires_at = NOW + access_ttl
    family = Family(family_id, "c1", "u1", ("read",), (), NOW, NOW, NOW, expires_at)
    storage.start_family(replace(family, refreshable=False))
    return family_id


def test_purge_keeps_a_login_without_refresh_token_until_its_access_token_expires(
    storage: SqlStorage,
) -> None:
    _pair(storage)
    login = _login_without_refresh_token(storage)

    assert storage.purge(NOW + 899)["sessions"] == 0
    assert storage.end_sessions("u1", NOW + 899) == 1
    assert storage.is_access_token_denied(login)
    assert storage.purge(NOW + 900)["sessions"] == 1
    assert storage.get_family(login) is None


def test_a_login_without_refresh_token_is_not_listed_yet_logging_out_ends_it(
    storage: SqlStorage,
) -> None:
    _pair(storage)
    session = _session(storage)
    login = _login_without_refresh_token(storage)

    assert [f.family_id for f in storage.list_sessions("u1", NOW + 1)] == [session]
    assert storage.end_sessions("u1", NOW + 1, keep=session) == 1
    assert storage.is_access_token_denied(login)
    ended = storage.get_family(login)
    assert ended is not None and ended.revoked_at == NOW + 1 and not ended.refreshable


def test_purge_keeps_an_ended_by_age_session_while_an_access_token_of_it_lives(
    storage: SqlStorage,
) -> None:
    _pair(storage)
    family_id = _session(storage, max_age=600)  # its access token lives until NOW + 900

    assert storage.purge(NOW + 600)["sessions"] == 0
    assert storage.end_sessions("u1", NOW + 700) == 1  # a logout still finds it
    assert storage.purge(NOW + 700)["sessions"] == 1
    assert storage.get_family(family_id) is None


def test_purge_deletes_an_idle_session_once_its_access_tokens_have_expired(
    storage: SqlStorage,
) -> None:
    _pair(storage)
    family_id = _session(storage, token_ttl=60)

    assert storage.purge(NOW + 899)["sessions"] == 0
    assert storage.purge(NOW + 900)["sessions"] == 1
    assert storage.get_family(family_id) is None
