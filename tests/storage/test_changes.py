"""Every change a server holds in memory is signalled by the transaction that makes it (NOTIFY
on PostgreSQL, a generation bump on SQLite), and a watcher in another process is told."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from authority.storage import Change, ChangeKind, Conflict, KeyState, SigningKeyInfo
from authority.storage.changes import ChangeWatcher, parse, signal
from authority.storage.sql import SqlStorage
from tests.storage.factories import NOW, make_client, make_user

# A change reaches the watcher within this (the SQLite poll is 250 ms).
SOON = 1.0


class Seen:
    """What a watcher reported, for waiting on. On PostgreSQL a change names what changed;
    on SQLite only its kind. The PostgreSQL channel is the database's, which other test
    sessions may share: a test only looks for what it changed itself."""

    def __init__(self, named: bool) -> None:
        self.named = named
        self.changes: list[Change] = []
        self.resyncs = 0
        self._cond = threading.Condition()

    def change(self, change: Change) -> None:
        with self._cond:
            self.changes.append(change)
            self._cond.notify_all()

    def resync(self) -> None:
        with self._cond:
            self.resyncs += 1
            self._cond.notify_all()

    def expect(self, kind: ChangeKind, ident: str | None) -> Change:
        return Change(kind, ident if self.named else None)

    def wait(self, condition: Callable[[], bool], seconds: float = SOON) -> bool:
        with self._cond:
            return self._cond.wait_for(condition, seconds)

    def settle(self, storage: SqlStorage) -> None:
        """Once every change made so far has been seen, forget them: a change of a marker,
        committed last, is seen last (or, on SQLite, with the others)."""
        marker = f"marker-{time.monotonic_ns()}"
        with storage.engine.begin() as conn:
            signal(conn, ChangeKind.USER, marker)
        assert self.told(ChangeKind.USER, marker)
        with self._cond:
            self.changes.clear()

    def told(self, kind: ChangeKind, ident: str | None, seconds: float = SOON) -> bool:
        expected = self.expect(kind, ident)
        return self.wait(lambda: expected in self.changes, seconds)


@pytest.fixture
def seen(storage: SqlStorage) -> Iterator[Seen]:
    """A watcher on its own engine, as another server process would have."""
    other = SqlStorage.from_url(str(storage.engine.url.render_as_string(hide_password=False)))
    seen = Seen(named=storage.engine.dialect.name == "postgresql")
    watcher = other.change_watcher(seen.change, seen.resync, "later")
    watcher.start()
    assert seen.wait(lambda: seen.resyncs == 1, 5)
    yield seen
    watcher.stop()
    other.close()


def _fresh(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns()}"


def _client(storage: SqlStorage, disabled: bool = False) -> str:
    client = make_client(_fresh("c"), disabled=disabled)
    storage.add_client(client)
    return client.client_id


def _user(storage: SqlStorage) -> str:
    user = make_user(_fresh("user"))
    storage.add_user(user)
    return user.sub


def _imported(username: str) -> dict[str, object]:
    return {
        "sub": _fresh("s"),
        "username": username,
        "email": None,
        "password_hash": "$argon2id$x",
        "disabled": True,
        "email_verified": False,
    }


def _key(kid: str, state: KeyState = KeyState.NEXT) -> SigningKeyInfo:
    return SigningKeyInfo(kid=kid, alg="ES256", state=state, created_at=NOW)


def _added_key(storage: SqlStorage, state: KeyState = KeyState.NEXT) -> str:
    kid = _fresh("k")
    storage.add_signing_key(_key(kid, state))
    return kid


def _next_and_active(storage: SqlStorage) -> str:
    kid = _added_key(storage)
    storage.add_signing_key(_key(f"{kid}-active", KeyState.ACTIVE))
    return kid


@dataclass(frozen=True)
class Case:
    kind: ChangeKind
    setup: Callable[[SqlStorage], str]  # makes what then changes; returns its id
    change: Callable[[SqlStorage, str], object]  # as the CLI (or the admin API) changes it
    named: bool = True  # the notification names what changed (else: some of that kind)


CASES = {
    "client created": Case(
        ChangeKind.CLIENT, lambda s: _fresh("c"), lambda s, cid: s.add_client(make_client(cid))
    ),
    "client disabled": Case(
        ChangeKind.CLIENT, _client, lambda s, cid: s.set_client_disabled(cid, True, NOW)
    ),
    "client enabled": Case(
        ChangeKind.CLIENT,
        lambda s: _client(s, disabled=True),
        lambda s, cid: s.set_client_disabled(cid, False, NOW),
    ),
    "client settings": Case(
        ChangeKind.CLIENT,
        _client,
        lambda s, cid: s.set_client_settings(make_client(cid, name="renamed")),
    ),
    "client introspection": Case(
        ChangeKind.CLIENT, _client, lambda s, cid: s.set_client_introspection(cid, (), True)
    ),
    "client secret": Case(
        ChangeKind.CLIENT, _client, lambda s, cid: s.rotate_client_secret(cid, "1" * 64, None)
    ),
    "client deleted": Case(ChangeKind.CLIENT, _client, lambda s, cid: s.delete_client(cid, NOW)),
    "user disabled": Case(
        ChangeKind.USER, _user, lambda s, sub: s.set_user_disabled(sub, True, NOW)
    ),
    "user deleted": Case(ChangeKind.USER, _user, lambda s, sub: s.delete_user(sub, NOW)),
    "users imported disabled": Case(
        ChangeKind.USER,
        lambda s: _fresh("imported"),
        lambda s, name: s.upsert_users([_imported(name)], NOW),
        named=False,
    ),
    "key generated": Case(
        ChangeKind.KEY, lambda s: _fresh("k"), lambda s, kid: s.add_signing_key(_key(kid))
    ),
    "key rotated": Case(
        ChangeKind.KEY,
        _next_and_active,
        lambda s, kid: s.swap_signing_keys(f"{kid}-active", kid, None, NOW, NOW + 60),
    ),
    "promotion scheduled": Case(
        ChangeKind.KEY, _added_key, lambda s, kid: s.schedule_promotion(kid, NOW + 60)
    ),
    "keys removed": Case(
        ChangeKind.KEY,
        lambda s: _added_key(s, KeyState.RETIRED),
        lambda s, kid: s.remove_signing_keys([kid]),
        named=False,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_change_that_servers_cache_is_told_to_every_watcher(
    name: str, storage: SqlStorage, seen: Seen
) -> None:
    case = CASES[name]
    ident = case.setup(storage)
    seen.settle(storage)  # the setup's own changes are not taken for the one under test

    assert case.change(storage, ident) is not False

    assert seen.told(case.kind, ident if case.named else None), seen.changes


def test_a_change_that_changed_nothing_or_was_rolled_back_is_not_told(
    storage: SqlStorage, seen: Seen
) -> None:
    taken = make_client(f"c-taken-{time.monotonic_ns()}")
    storage.add_client(taken)
    seen.settle(storage)

    assert not storage.set_client_disabled("c-nobody", True, NOW)
    assert not storage.schedule_promotion("k-nobody", NOW)
    with pytest.raises(Conflict):
        storage.add_client(taken)  # rolled back: the insert failed

    assert not seen.told(ChangeKind.CLIENT, "c-nobody", seconds=0.6)
    assert not seen.told(ChangeKind.CLIENT, taken.client_id, seconds=0)
    assert not seen.told(ChangeKind.KEY, "k-nobody", seconds=0)


def test_a_payload_of_an_unknown_kind_is_ignored() -> None:
    assert parse("client:abc") == Change(ChangeKind.CLIENT, "abc")
    assert parse("user:") == Change(ChangeKind.USER, None)
    assert parse("session:abc") is None
    assert parse("") is None


def test_an_in_memory_database_needs_no_watcher() -> None:
    storage = SqlStorage.from_url("sqlite://")
    watcher = storage.change_watcher(lambda c: None, lambda: None, "later")
    watcher.start()
    assert not watcher.needed and not watcher.watching.is_set()
    watcher.stop()
    storage.close()


def test_a_watcher_that_cannot_reach_the_database_logs_one_line_and_stops_cleanly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = SqlStorage.from_url(f"sqlite:///{tmp_path / 'missing' / 'authority.db'}")
    watcher: ChangeWatcher = storage.change_watcher(lambda c: None, lambda: None, "later")
    with caplog.at_level(logging.WARNING, logger="authority"):
        watcher.start()
        time.sleep(1.2)  # several attempts, with back-off
        watcher.stop(wait=2)
    lines = [r.getMessage() for r in caplog.records if r.name == "authority"]
    assert len(lines) == 1, lines
    assert lines[0].startswith("change notifications lost (OperationalError)")
    assert not watcher.watching.is_set()
    storage.close()
