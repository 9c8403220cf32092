"""Refresh-token rotation under contention: of many racing uses of one token, one wins."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial

import pytest

from authority.storage import Family, IssuedAccess, Rotation, RotationFailure
from authority.storage.sql import SqlStorage
from tests.storage.factories import (
    DAY,
    NOW,
    found,
    make_client,
    make_user,
    new_hash,
    start_family,
)

THREADS = 50
ROUNDS = 5


def _race(storage: SqlStorage, presented: str, client_id: str) -> list[Rotation | BaseException]:
    barrier = threading.Barrier(THREADS)
    results: list[Rotation | BaseException] = []
    lock = threading.Lock()

    def use_token() -> None:
        try:
            barrier.wait(timeout=30)
            outcome: Rotation | BaseException = storage.rotate_refresh_token(
                presented, new_hash(), client_id, NOW + 60, DAY
            )
        except BaseException as exc:
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=use_token) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_exactly_one_of_many_concurrent_uses_of_a_refresh_token_wins(
    storage: SqlStorage,
) -> None:
    client = make_client()
    user = make_user()
    storage.add_client(client)
    storage.add_user(user)
    for _ in range(ROUNDS):
        family, presented = start_family(storage, client, user)

        results = _race(storage, presented, client.client_id)

        errors = [r for r in results if isinstance(r, BaseException)]
        assert errors == []
        assert len(results) == THREADS
        rotations = [r for r in results if isinstance(r, Rotation)]
        winners = [r for r in rotations if r.family is not None]
        assert len(winners) == 1
        assert winners[0].family is not None
        assert winners[0].family.family_id == family.family_id
        losers = {r.failure for r in rotations if r.family is None}
        assert losers == {RotationFailure.USED}
        # Storage only reports the losers' used token: ending the session is the grant's call.
        stored = storage.get_family(family.family_id)
        assert stored is not None
        assert stored.revoked_at is None


def _replace_at_once(
    storage: SqlStorage, presented: str, successor: str, client_id: str
) -> list[tuple[str, Family | None] | BaseException]:
    """Many threads replace the same unused successor at once; each with a new hash."""
    barrier = threading.Barrier(THREADS)
    results: list[tuple[str, Family | None] | BaseException] = []
    lock = threading.Lock()

    def replace() -> None:
        replacement = new_hash()
        try:
            barrier.wait(timeout=30)
            outcome: tuple[str, Family | None] | BaseException = (
                replacement,
                storage.replace_successor(
                    presented, successor, replacement, client_id, NOW + 2, DAY
                ),
            )
        except BaseException as exc:
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=replace) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_of_many_concurrent_replacements_of_one_successor_one_wins(storage: SqlStorage) -> None:
    client, user = make_client(), make_user()
    storage.add_client(client)
    storage.add_user(user)
    for _ in range(ROUNDS):
        _, presented = start_family(storage, client, user)
        first = new_hash()
        assert storage.rotate_refresh_token(presented, first, client.client_id, NOW + 1, DAY).family

        results = _replace_at_once(storage, presented, first, client.client_id)

        assert [r for r in results if isinstance(r, BaseException)] == []
        winners = [r[0] for r in results if not isinstance(r, BaseException) and r[1]]
        assert len(winners) == 1
        assert found(storage.inspect_refresh_token(winners[0])).used_at is None
        assert found(storage.inspect_refresh_token(first)).used_at == NOW + 2


# -- a refresh racing the end of its session ---------------------------------------------------

RACE_ROUNDS = 150
Ending = Callable[[SqlStorage, Family, int], object]
ENDINGS: dict[str, Ending] = {
    "revoke": lambda storage, family, now: storage.revoke_family(family.family_id, now),
    "logout": lambda storage, family, now: storage.end_sessions(family.sub, now),
    "logout-one": lambda storage, family, now: storage.end_sessions(
        family.sub, now, family.family_id
    ),
    "disable": lambda storage, family, now: storage.set_user_disabled(family.sub, True, now),
}


def _refresh_and_end_at_once(
    storage: SqlStorage, family: Family, presented: str, access: IssuedAccess, end: Ending
) -> Rotation:
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def run(name: str, step: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes[name] = step()
        except BaseException as exc:
            outcomes[name] = exc

    rotate = partial(
        storage.rotate_refresh_token,
        presented,
        new_hash(),
        family.client_id,
        NOW + 60,
        DAY,
        access,
    )
    threads = [
        threading.Thread(target=run, args=("rotation", rotate)),
        threading.Thread(target=run, args=("end", partial(end, storage, family, NOW + 60))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(isinstance(o, BaseException) for o in outcomes.values()), outcomes
    rotation = outcomes["rotation"]
    assert isinstance(rotation, Rotation)
    return rotation


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_a_refresh_racing_the_end_of_its_session_leaves_no_access_token_active(
    storage: SqlStorage, ending: str
) -> None:
    """Once the session has ended, every access token issued in it is denied: the refresh
    either lost, or the access token it issued is on the deny-list too."""
    client = make_client()
    storage.add_client(client)
    outlived = []
    for round_ in range(RACE_ROUNDS):
        user = make_user(f"user{round_}")
        storage.add_user(user)
        first = IssuedAccess(new_hash()[:32], NOW + 900)
        family, presented = start_family(storage, client, user, access=first)
        issued = IssuedAccess(new_hash()[:32], NOW + 960)

        rotation = _refresh_and_end_at_once(storage, family, presented, issued, ENDINGS[ending])

        assert storage.is_access_token_denied(first.jti)
        if rotation.family is not None and not storage.is_access_token_denied(issued.jti):
            outlived.append(family.family_id)
        stored = storage.get_family(family.family_id)
        assert stored is not None and stored.revoked_at is not None
    assert outlived == [], f"{len(outlived)} of {RACE_ROUNDS} refreshes outlived their session"
