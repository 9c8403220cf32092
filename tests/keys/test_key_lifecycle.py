"""The signing-key lifecycle: next -> active -> retired -> removed, on both databases."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest

from authority.keys import (
    DatabaseKeyStore,
    DirectoryKeyStore,
    KeyRing,
    KeyState,
    KeyStoreError,
    lifecycle,
)
from authority.keys.lifecycle import RotationRefused, Scheduled, Timings
from authority.oauth.tokens import Minter
from authority.storage.sql import SqlStorage

T0 = 1_790_000_000
TIMINGS = Timings(
    jwks_max_age=300, access_token_ttl=900, reload_seconds=30, leeway=60, rotation_days=30
)


@pytest.fixture
def keys(tmp_path: Path) -> DirectoryKeyStore:
    return DirectoryKeyStore(tmp_path / "keys")


def states(storage: SqlStorage, alg: str = "ES256") -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key in storage.list_signing_keys():
        if key.alg == alg:
            found.setdefault(key.state, []).append(key.kid)
    return found


def test_rotation_is_refused_before_the_next_key_was_published_for_the_lead_time(
    storage: SqlStorage, keys: DirectoryKeyStore
) -> None:
    lifecycle.initialize(storage, keys, "ES256", T0)
    before = storage.list_signing_keys()
    with pytest.raises(RotationRefused, match="use --force"):
        lifecycle.rotate(storage, keys, "ES256", T0 + TIMINGS.publish_lead - 1, TIMINGS)
    assert storage.list_signing_keys() == before


def test_publish_lead_covers_the_jwks_cache_lifetime_and_the_reload_bound() -> None:
    assert TIMINGS.publish_lead >= TIMINGS.jwks_max_age + TIMINGS.reload_seconds
    assert TIMINGS.removable_at(T0) >= T0 + TIMINGS.access_token_ttl + TIMINGS.reload_seconds


def test_a_fresh_install_has_one_active_key_and_a_published_next_key(
    storage: SqlStorage, keys: DirectoryKeyStore
) -> None:
    created = lifecycle.initialize(storage, keys, "ES256", T0)
    assert len(created) == 2
    found = states(storage)
    assert len(found["active"]) == 1 and len(found["next"]) == 1
    ring = KeyRing.load(storage, keys)
    assert {k.kid for k in ring.keys} == {found["active"][0], found["next"][0]}
    assert ring.active("ES256").kid == found["active"][0]
    assert lifecycle.initialize(storage, keys, "ES256", T0 + 5) == []


def test_rotate_promotes_next_retires_active_and_publishes_a_new_next(
    storage: SqlStorage, keys: DirectoryKeyStore
) -> None:
    lifecycle.initialize(storage, keys, "ES256", T0)
    first = states(storage)
    now = T0 + TIMINGS.publish_lead
    report = lifecycle.rotate(storage, keys, "ES256", now, TIMINGS)
    after = states(storage)
    assert after["active"] == first["next"] == [report.activated]
    assert after["retired"] == first["active"] == [report.retired]
    assert after["next"] == [report.created_next]
    retired = next(k for k in storage.list_signing_keys() if k.state == "retired")
    assert retired.retired_at == now and retired.removable_at == TIMINGS.removable_at(now)
    # The retired key still verifies: it stays in the JWKS.
    assert report.retired in {k.kid for k in KeyRing.load(storage, keys).keys}


def test_a_retired_key_is_removed_only_after_its_last_token_expired(
    storage: SqlStorage, keys: DirectoryKeyStore
) -> None:
    lifecycle.initialize(storage, keys, "ES256", T0)
    now = T0 + TIMINGS.publish_lead
    report = lifecycle.rotate(storage, keys, "ES256", now, TIMINGS)
    assert lifecycle.prune(storage, keys, TIMINGS.removable_at(now) - 1) == []
    assert lifecycle.prune(storage, keys, TIMINGS.removable_at(now)) == [report.retired]
    assert states(storage)["removed"] == [report.retired]
    assert report.retired not in {k.kid for k in KeyRing.load(storage, keys).keys}
    assert not (keys.directory / f"{report.retired}.pem").exists()


def test_emergency_rotation_revokes_the_current_key_from_the_jwks_at_once(
    storage: SqlStorage, keys: DirectoryKeyStore
) -> None:
    lifecycle.initialize(storage, keys, "ES256", T0)
    old = states(storage)["active"][0]
    report = lifecycle.rotate(
        storage, keys, "ES256", T0 + 1, TIMINGS, force=True, revoke_current=True
    )
    assert report.revoked == old
    assert any("revoked" in w for w in report.warnings)
    assert old not in {k.kid for k in KeyRing.load(storage, keys).keys}
    assert not (keys.directory / f"{old}.pem").exists()


def test_scheduled_rotation_waits_for_the_rotation_period(
    storage: SqlStorage, keys: DirectoryKeyStore
) -> None:
    lifecycle.initialize(storage, keys, "ES256", T0)
    due = T0 + 30 * 86400
    assert lifecycle.rotate_if_due(storage, keys, "ES256", due - 1, TIMINGS) is None
    report = lifecycle.rotate_if_due(storage, keys, "ES256", due, TIMINGS)
    assert report is not None and report.activated
    off = Timings(300, 900, 30, 60, rotation_days=0)
    assert lifecycle.rotate_if_due(storage, keys, "ES256", due * 2, off) is None


def test_two_replicas_rotating_at_once_make_exactly_one_rotation(
    storage: SqlStorage, keys: DirectoryKeyStore
) -> None:
    lifecycle.initialize(storage, keys, "ES256", T0)
    snapshot = storage.list_signing_keys()
    due = T0 + 30 * 86400
    first = lifecycle.rotate_if_due(storage, keys, "ES256", due, TIMINGS)
    # The second replica read the key set before the first committed.
    current = next(k for k in snapshot if k.state == "active")
    upcoming = next(k for k in snapshot if k.state == "next")
    lost = storage.swap_signing_keys(current.kid, upcoming.kid, None, due, due + 1)
    assert first is not None and lost is False
    found = states(storage)
    assert len(found["active"]) == 1 and len(found["next"]) == 1 and len(found["retired"]) == 1


def test_tokens_signed_before_a_rotation_still_verify_against_the_new_jwks(
    storage: SqlStorage, keys: DirectoryKeyStore
) -> None:
    lifecycle.initialize(storage, keys, "ES256", T0)
    ring = KeyRing.load(storage, keys)
    minter = Minter("https://issuer.example", 900, "ES256", lambda: ring)
    now = int(time.time())
    old = minter.access_token(sub="s", client_id="c", scope=(), audience=("a",), now=now)
    lifecycle.rotate(storage, keys, "ES256", T0 + TIMINGS.publish_lead, TIMINGS)
    ring = KeyRing.load(storage, keys, previous=ring)
    new = minter.access_token(sub="s", client_id="c", scope=(), audience=("a",), now=now)
    jwks = jwt.PyJWKSet.from_json(ring.jwks.decode())
    for token in (old.token, new.token):
        kid = jwt.get_unverified_header(token)["kid"]
        key = next(k for k in jwks.keys if k.key_id == kid)
        jwt.decode(token, key.key, algorithms=["ES256"], audience="a")
    assert (
        jwt.get_unverified_header(old.token)["kid"] != jwt.get_unverified_header(new.token)["kid"]
    )


def test_generate_publishes_a_next_key_for_another_algorithm_once(
    storage: SqlStorage, keys: DirectoryKeyStore
) -> None:
    lifecycle.initialize(storage, keys, "ES256", T0)
    info = lifecycle.add_next(storage, keys, "RS256", T0)
    assert info.state == "next" and info.alg == "RS256"
    with pytest.raises(RotationRefused):
        lifecycle.add_next(storage, keys, "RS256", T0)
    report = lifecycle.rotate(storage, keys, "RS256", T0 + TIMINGS.publish_lead, TIMINGS)
    assert report.activated == info.kid and report.retired is None
    assert KeyRing.load(storage, keys).active("RS256").kid == info.kid


def test_encrypted_keys_need_the_right_passphrase(storage: SqlStorage, tmp_path: Path) -> None:
    locked = DirectoryKeyStore(tmp_path / "k", passphrase=b"correct horse")
    lifecycle.initialize(storage, locked, "ES256", T0)
    pem = next((tmp_path / "k").glob("*.pem")).read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    assert KeyRing.load(storage, locked).active("ES256")
    with pytest.raises(KeyStoreError, match="wrong AUTHORITY_KEYS_PASSPHRASE"):
        KeyRing.load(storage, DirectoryKeyStore(tmp_path / "k", passphrase=b"wrong"))
    with pytest.raises(KeyStoreError, match="set AUTHORITY_KEYS_PASSPHRASE"):
        KeyRing.load(storage, DirectoryKeyStore(tmp_path / "k"))


def test_the_database_store_keeps_private_keys_encrypted_in_the_key_rows(
    storage: SqlStorage,
) -> None:
    sealed = DatabaseKeyStore(b"correct horse")
    lifecycle.initialize(storage, sealed, "EdDSA", T0)
    rows = storage.list_signing_keys()
    assert all(r.sealed and b"ENCRYPTED PRIVATE KEY" in r.sealed for r in rows)
    assert KeyRing.load(storage, sealed).active("EdDSA")
    with pytest.raises(KeyStoreError, match="wrong AUTHORITY_KEYS_PASSPHRASE"):
        KeyRing.load(storage, DatabaseKeyStore(b"wrong"))
    lifecycle.rotate(storage, sealed, "EdDSA", T0 + 1, TIMINGS, force=True, revoke_current=True)
    revoked = next(r for r in storage.list_signing_keys() if r.state == "revoked")
    assert revoked.sealed is None  # a revoked key's private half is gone


def test_repair_deletes_old_unpublished_keys_and_refuses_a_missing_published_one(
    storage: SqlStorage, keys: DirectoryKeyStore
) -> None:
    lifecycle.initialize(storage, keys, "ES256", T0)
    orphan = lifecycle._new_key(keys, "ES256", KeyState.NEXT, T0)  # sealed, never published
    assert (keys.directory / f"{orphan.kid}.pem").exists()
    found = lifecycle.repair(storage, keys)
    assert any("kept" in f for f in found) and (keys.directory / f"{orphan.kid}.pem").exists()
    found = lifecycle.repair(storage, keys, grace=0)
    assert any("deleted" in f for f in found)
    assert not (keys.directory / f"{orphan.kid}.pem").exists()
    active = states(storage)["active"][0]
    (keys.directory / f"{active}.pem").unlink()
    before = storage.list_signing_keys()
    with pytest.raises(KeyStoreError, match="missing"):
        lifecycle.repair(storage, keys, grace=0)
    assert storage.list_signing_keys() == before  # nothing generated over the store


# -- keys rotate --at-earliest ----------------------------------------------------------------

NO_SCHEDULE = Timings(300, 900, 30, 60, rotation_days=0)  # only an operator's schedule rotates


def test_at_earliest_schedules_a_young_next_key_for_the_first_safe_moment(
    storage: SqlStorage, keys: DirectoryKeyStore
) -> None:
    lifecycle.initialize(storage, keys, "ES256", T0)
    upcoming = states(storage)["next"][0]

    scheduled = lifecycle.rotate_at_earliest(storage, keys, "ES256", T0 + 10, NO_SCHEDULE)

    ready = T0 + NO_SCHEDULE.publish_lead
    assert scheduled == Scheduled("ES256", upcoming, ready)
    assert {k.kid: k.promote_at for k in storage.list_signing_keys()}[upcoming] == ready
    assert states(storage)["next"] == [upcoming]  # nothing rotated yet


def test_at_earliest_rotates_at_once_a_next_key_that_may_sign(
    storage: SqlStorage, keys: DirectoryKeyStore
) -> None:
    lifecycle.initialize(storage, keys, "ES256", T0)
    upcoming = states(storage)["next"][0]

    report = lifecycle.rotate_at_earliest(
        storage, keys, "ES256", T0 + NO_SCHEDULE.publish_lead, NO_SCHEDULE
    )

    assert isinstance(report, lifecycle.RotationReport) and report.activated == upcoming


def test_a_scheduled_promotion_is_made_when_due_and_only_once(
    storage: SqlStorage, keys: DirectoryKeyStore
) -> None:
    lifecycle.initialize(storage, keys, "ES256", T0)
    scheduled = lifecycle.rotate_at_earliest(storage, keys, "ES256", T0 + 10, NO_SCHEDULE)
    assert isinstance(scheduled, Scheduled)
    at = scheduled.promote_at

    assert lifecycle.rotate_if_due(storage, keys, "ES256", at - 1, NO_SCHEDULE) is None
    report = lifecycle.rotate_if_due(storage, keys, "ES256", at, NO_SCHEDULE)
    # Another replica finding it due a moment later finds it done: no second rotation.
    again = lifecycle.rotate_if_due(storage, keys, "ES256", at + 1, NO_SCHEDULE)

    assert report is not None and report.activated == scheduled.kid and again is None
    found = states(storage)
    assert found["active"] == [scheduled.kid] and len(found["retired"]) == 1
    assert all(k.promote_at is None for k in storage.list_signing_keys() if k.state == "next")


def test_a_scheduled_promotion_waits_for_this_servers_own_publish_lead(
    storage: SqlStorage, keys: DirectoryKeyStore
) -> None:
    """A server configured for longer JWKS caching than the command was never promotes a key
    its verifiers may not know yet."""
    lifecycle.initialize(storage, keys, "ES256", T0)
    scheduled = lifecycle.rotate_at_earliest(storage, keys, "ES256", T0 + 10, NO_SCHEDULE)
    assert isinstance(scheduled, Scheduled)
    longer = Timings(600, 900, 30, 60, rotation_days=0)

    assert lifecycle.rotate_if_due(storage, keys, "ES256", scheduled.promote_at, longer) is None
    assert lifecycle.rotate_if_due(storage, keys, "ES256", T0 + longer.publish_lead, longer)


def test_a_first_key_of_a_new_algorithm_can_be_scheduled(
    storage: SqlStorage, keys: DirectoryKeyStore
) -> None:
    lifecycle.initialize(storage, keys, "ES256", T0)
    info = lifecycle.add_next(storage, keys, "EdDSA", T0)

    scheduled = lifecycle.rotate_at_earliest(storage, keys, "EdDSA", T0 + 1, NO_SCHEDULE)
    assert isinstance(scheduled, Scheduled)
    report = lifecycle.rotate_if_due(storage, keys, "EdDSA", scheduled.promote_at, NO_SCHEDULE)

    assert report is not None and report.activated == info.kid
    assert states(storage, "EdDSA")["active"] == [info.kid]


def test_at_earliest_without_a_next_key_is_refused(
    storage: SqlStorage, keys: DirectoryKeyStore
) -> None:
    with pytest.raises(RotationRefused, match="no next ES256 key"):
        lifecycle.rotate_at_earliest(storage, keys, "ES256", T0, NO_SCHEDULE)
