"""Link tokens in storage: single use under contention, registration races, purging."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import TypeVar

from authority.storage import PASSWORD_RESET, VERIFY_EMAIL, LinkToken, Registration
from authority.storage.sql import SqlStorage
from tests.storage.factories import NOW, make_client, make_user, start_family

THREADS = 20
T = TypeVar("T")


def race(work: Callable[[int], T]) -> list[T | BaseException]:
    """``work(n)`` on THREADS threads released at once; every outcome, errors included."""
    barrier = threading.Barrier(THREADS)
    results: list[T | BaseException] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            outcome: T | BaseException = work(n)
        except BaseException as exc:
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def link(sub: str, purpose: str = PASSWORD_RESET, ttl: int = 1800) -> LinkToken:
    return LinkToken(secrets.token_hex(32), purpose, sub, NOW, NOW + ttl)


def test_of_many_concurrent_uses_of_one_reset_link_exactly_one_sets_the_password(
    storage: SqlStorage,
) -> None:
    user = make_user(email="alice@example.com")
    storage.add_user(user)
    token = link(user.sub)
    storage.add_link(token)

    results = race(lambda n: storage.reset_password(token.token_hash, f"$argon2id${n}", NOW + 1))

    assert [r for r in results if isinstance(r, BaseException)] == []
    winners = [n for n, r in enumerate(results) if r is not None]
    assert len(winners) == 1 and results[winners[0]] == user.sub
    stored = storage.get_user(user.sub)
    assert stored is not None and stored.password_hash.startswith("$argon2id$")
    assert stored.password_hash != user.password_hash


def test_of_many_concurrent_registrations_of_one_address_exactly_one_creates_an_account(
    storage: SqlStorage,
) -> None:
    def register(n: int) -> Registration:
        user = make_user(f"user{n}", email="carol@example.com")
        return storage.register_user(user, link(user.sub, VERIFY_EMAIL))

    results = race(register)

    assert sorted(r.value for r in results if isinstance(r, Registration)) == sorted(
        ["created"] + ["email_taken"] * (THREADS - 1)
    )
    assert [u.email for u in storage.users_with_email("Carol@Example.com")] == ["carol@example.com"]


def test_of_many_concurrent_registrations_of_one_username_exactly_one_wins(
    storage: SqlStorage,
) -> None:
    def register(n: int) -> Registration:
        name = "dave" if n % 2 else "DAVE"  # one name, whatever its case
        user = make_user(name, email=f"dave{n}@example.com")
        return storage.register_user(user, None)

    results = race(register)

    assert sorted(r.value for r in results if isinstance(r, Registration)) == sorted(
        ["created"] + ["username_taken"] * (THREADS - 1)
    )


def test_a_reset_ends_every_session_and_a_change_all_but_one(storage: SqlStorage) -> None:
    client = make_client()
    user = make_user(email="alice@example.com")
    storage.add_client(client)
    storage.add_user(user)
    kept, _ = start_family(storage, client, user)
    start_family(storage, client, user)

    assert storage.change_password(user.sub, "$argon2id$new", NOW + 1, keep=kept.family_id) == 1
    assert [f.family_id for f in storage.list_sessions(user.sub, NOW + 1)] == [kept.family_id]

    token = link(user.sub)
    storage.add_link(token)
    assert storage.reset_password(token.token_hash, "$argon2id$newer", NOW + 2) == user.sub
    assert storage.list_sessions(user.sub, NOW + 2) == []


def test_expired_links_are_purged_and_live_ones_kept(storage: SqlStorage) -> None:
    user = make_user()
    storage.add_user(user)
    old, live = link(user.sub, ttl=60), link(user.sub, ttl=3600)
    storage.add_link(old)
    storage.add_link(live)

    assert storage.purge_links(NOW + 60) == 1

    assert storage.peek_link(old.token_hash, PASSWORD_RESET, NOW) is None
    assert storage.peek_link(live.token_hash, PASSWORD_RESET, NOW + 60) == user.sub
