"""Refresh-token rotation under contention: of many racing uses of one token, one wins."""

from __future__ import annotations

import threading

from authority.storage import Rotation, RotationFailure
from authority.storage.sql import SqlStorage
from tests.unit.factories import DAY, NOW, make_client, make_user, new_hash, start_family

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
        assert losers <= {RotationFailure.REUSED, RotationFailure.UNKNOWN}
        stored = storage.get_family(family.family_id)
        assert stored is not None
        assert stored.revoked_at is not None
