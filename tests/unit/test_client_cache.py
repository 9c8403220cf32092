"""CachedClients: clients served from memory for at most ``ttl`` seconds."""

from __future__ import annotations

import dataclasses

from authority.oauth.client_auth import CachedClients
from authority.storage import Client
from tests.conftest import FakeClock
from tests.storage.factories import make_client


class CountingStore:
    def __init__(self, *clients: Client) -> None:
        self.clients = {c.client_id: c for c in clients}
        self.calls: list[str] = []

    def get_client(self, client_id: str) -> Client | None:
        self.calls.append(client_id)
        return self.clients.get(client_id)

    def disable(self, client_id: str) -> Client:
        self.clients[client_id] = dataclasses.replace(self.clients[client_id], disabled=True)
        return self.clients[client_id]


def test_ttl_zero_fetches_every_time(clock: FakeClock) -> None:
    store = CountingStore(make_client("c1"))
    cache = CachedClients(store, ttl=0, clock=clock)

    cache.get("c1")
    store.disable("c1")

    assert cache.get("c1") == store.clients["c1"]
    assert store.calls == ["c1", "c1"]


def test_an_unknown_client_is_not_cached(clock: FakeClock) -> None:
    store = CountingStore()
    cache = CachedClients(store, ttl=5, clock=clock)

    assert cache.get("c1") is None
    store.clients["c1"] = make_client("c1")

    assert cache.get("c1") == store.clients["c1"]
    assert store.calls == ["c1", "c1"]


def test_a_change_is_seen_once_the_ttl_has_passed(clock: FakeClock) -> None:
    store = CountingStore(make_client("c1"))
    cache = CachedClients(store, ttl=5, clock=clock)
    cache.get("c1")
    disabled = store.disable("c1")

    clock.advance(5)

    assert cache.get("c1") == disabled
    assert store.calls == ["c1", "c1"]


def test_a_deleted_client_is_gone_once_the_ttl_has_passed(clock: FakeClock) -> None:
    store = CountingStore(make_client("c1"))
    cache = CachedClients(store, ttl=5, clock=clock)
    cache.get("c1")
    del store.clients["c1"]

    clock.advance(5)

    assert cache.get("c1") is None
    clock.advance(1)
    assert cache.get("c1") is None
    assert store.calls == ["c1", "c1", "c1"]


def test_serves_from_memory_within_the_ttl(clock: FakeClock) -> None:
    original = make_client("c1")
    store = CountingStore(original)
    cache = CachedClients(store, ttl=5, clock=clock)
    cache.get("c1")
    store.disable("c1")

    clock.advance(4.9)

    assert cache.get("c1") == original
    assert store.calls == ["c1"]


def test_each_client_has_its_own_expiry(clock: FakeClock) -> None:
    store = CountingStore(make_client("c1"), make_client("c2"))
    cache = CachedClients(store, ttl=5, clock=clock)
    cache.get("c1")
    clock.advance(3)
    cache.get("c2")

    clock.advance(3)
    cache.get("c1")
    cache.get("c2")

    assert store.calls == ["c1", "c2", "c1"]


def test_the_cache_stays_bounded(clock: FakeClock) -> None:
    class SmallCache(CachedClients):
        MAX_ENTRIES = 2

    store = CountingStore(make_client("c1"), make_client("c2"), make_client("c3"))
    cache = SmallCache(store, ttl=5, clock=clock)

    for client_id in ("c1", "c2", "c3", "c1"):
        cache.get(client_id)

    assert store.calls == ["c1", "c2", "c3", "c1"]


def test_cached_answers_from_memory_only_and_never_asks_storage(clock: FakeClock) -> None:
    store = CountingStore(make_client("c1"))
    cache = CachedClients(store, ttl=5, clock=clock)

    assert cache.cached("c1") is None  # not read yet: the caller must go to storage
    cache.get("c1")
    assert cache.cached("c1") == store.clients["c1"]
    clock.advance(5)
    assert cache.cached("c1") is None  # expired: storage again, off the event loop

    assert store.calls == ["c1"]


def test_a_forgotten_client_is_read_again_at_once_and_the_others_stay(clock: FakeClock) -> None:
    store = CountingStore(make_client("c1"), make_client("c2"))
    cache = CachedClients(store, ttl=300, clock=clock)
    cache.get("c1")
    cache.get("c2")
    disabled = store.disable("c1")

    cache.forget("c1")

    assert cache.cached("c1") is None
    assert cache.get("c1") == disabled
    assert cache.get("c2") == store.clients["c2"]
    assert store.calls == ["c1", "c2", "c1"]


def test_forgetting_every_client_empties_the_cache(clock: FakeClock) -> None:
    store = CountingStore(make_client("c1"), make_client("c2"))
    cache = CachedClients(store, ttl=300, clock=clock)
    cache.get("c1")
    cache.get("c2")

    cache.forget(None)

    assert cache.cached("c1") is None and cache.cached("c2") is None


def test_a_copy_read_while_a_change_was_told_is_not_kept(clock: FakeClock) -> None:
    """The read began before the change committed, so what it returns may predate it."""
    store = CountingStore(make_client("c1"))
    cache = CachedClients(store, ttl=300, clock=clock)
    stale = store.clients["c1"]

    class ChangedDuringRead(CountingStore):
        def get_client(self, client_id: str) -> Client | None:
            cache.forget(client_id)  # told of the change while this read is under way
            return stale

    cache._store = ChangedDuringRead()

    assert cache.get("c1") == stale
    assert cache.cached("c1") is None
