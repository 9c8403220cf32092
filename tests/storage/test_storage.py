"""The SQL storage on SQLite and PostgreSQL: records, refresh rotation, revocation."""

from __future__ import annotations

import pytest
from sqlalchemy import Table, func, select

from authority.storage import (
    Client,
    Conflict,
    IssuedAccess,
    KeyState,
    Rotation,
    RotationFailure,
    SigningKeyInfo,
    UsedToken,
    User,
)
from authority.storage.sql import SqlStorage
from authority.storage.tables import families, refresh_tokens
from tests.storage.factories import (
    DAY,
    NOW,
    found,
    make_client,
    make_user,
    new_hash,
    start_family,
)


def _count(storage: SqlStorage, table: Table, **where: object) -> int:
    stmt = select(func.count()).select_from(table)
    for column, value in where.items():
        stmt = stmt.where(table.c[column] == value)
    with storage.engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


Pair = tuple[Client, User]


@pytest.fixture
def pair(storage: SqlStorage) -> Pair:
    """A stored client and user, for the refresh-rotation tests."""
    client, user = make_client(), make_user()
    storage.add_client(client)
    storage.add_user(user)
    return client, user


# -- clients -------------------------------------------------------------------------------


def test_adding_a_client_with_a_taken_id_is_a_conflict(storage: SqlStorage) -> None:
    storage.add_client(make_client("c1"))

    with pytest.raises(Conflict, match="c1"):
        storage.add_client(make_client("c1", name="other"))

    assert storage.get_client("c1") == make_client("c1")


def test_unknown_clients_are_none_and_cannot_be_changed(storage: SqlStorage) -> None:
    assert storage.get_client("nope") is None
    assert storage.set_client_disabled("nope", True, NOW) is False
    assert storage.set_client_introspection("nope", (), True) is False
    assert storage.delete_client("nope", NOW) is False


def test_a_client_round_trips_with_its_lists(storage: SqlStorage) -> None:
    client = make_client(
        "c1",
        grant_types=("client_credentials",),
        scopes=("invoices:read", "invoices:write"),
        default_scopes=(),
        audiences=("https://a.example", "urn:example:b"),
        resource_servers=("https://api.example", "urn:example:c"),
        introspect_any=True,
    )

    storage.add_client(client)

    assert storage.get_client("c1") == client


def test_setting_what_a_client_may_introspect(storage: SqlStorage) -> None:
    storage.add_client(make_client("c1"))

    assert storage.set_client_introspection("c1", ("https://api.example",), False) is True
    stored = storage.get_client("c1")
    assert stored is not None
    assert (stored.resource_servers, stored.introspect_any) == (("https://api.example",), False)
    assert storage.set_client_introspection("c1", (), True) is True
    assert storage.get_client("c1") == make_client("c1", introspect_any=True)


def test_clients_are_listed_oldest_first(storage: SqlStorage) -> None:
    storage.add_client(make_client("late", created_at=NOW + 5))
    storage.add_client(make_client("early", created_at=NOW))

    assert [c.client_id for c in storage.list_clients()] == ["early", "late"]


def test_disabling_and_enabling_a_client(storage: SqlStorage) -> None:
    storage.add_client(make_client("c1"))

    assert storage.set_client_disabled("c1", True, NOW) is True
    assert found(storage.get_client("c1")).disabled is True
    assert storage.set_client_disabled("c1", False, NOW) is True
    assert found(storage.get_client("c1")).disabled is False


def test_deleting_a_client_removes_its_families_and_tokens_and_denies_its_access_tokens(
    storage: SqlStorage,
) -> None:
    doomed, kept, user = make_client("doomed"), make_client("kept"), make_user()
    storage.add_client(doomed)
    storage.add_client(kept)
    storage.add_user(user)
    first, later, others = (IssuedAccess(new_hash()[:32], NOW + 900) for _ in range(3))
    family, token = start_family(storage, doomed, user, access=first)
    storage.rotate_refresh_token(token, new_hash(), "doomed", NOW + 1, DAY, later)
    other, _ = start_family(storage, kept, user, access=others)

    assert storage.delete_client("doomed", NOW + 2) is True

    assert storage.is_access_token_denied(first.jti)
    assert storage.is_access_token_denied(later.jti)
    assert not storage.is_access_token_denied(others.jti)

    assert storage.get_client("doomed") is None
    assert storage.get_family(family.family_id) is None
    assert _count(storage, refresh_tokens, family_id=family.family_id) == 0
    assert storage.get_family(other.family_id) is not None
    assert _count(storage, refresh_tokens, family_id=other.family_id) == 1


# -- users ---------------------------------------------------------------------------------


def test_adding_a_user_with_a_taken_username_is_a_conflict(storage: SqlStorage) -> None:
    storage.add_user(make_user("alice"))

    with pytest.raises(Conflict, match="alice"):
        storage.add_user(make_user("alice"))

    assert len(storage.list_users()) == 1


def test_unknown_users_are_none_and_cannot_be_disabled(storage: SqlStorage) -> None:
    assert storage.get_user("nope") is None
    assert storage.get_user_by_username("nope") is None
    assert storage.set_user_disabled("nope", True, NOW) is False


def test_a_user_is_found_by_sub_and_by_username(storage: SqlStorage) -> None:
    user = make_user("alice", email="alice@example.com")

    storage.add_user(user)

    assert storage.get_user(user.sub) == user
    assert storage.get_user_by_username("alice") == user
    assert storage.get_user_by_username("Alice") is None


def test_users_are_listed_oldest_first(storage: SqlStorage) -> None:
    storage.add_user(make_user("bob", created_at=NOW + 1))
    storage.add_user(make_user("alice", created_at=NOW + 2))

    assert [u.username for u in storage.list_users()] == ["bob", "alice"]


def test_setting_a_password_hash(storage: SqlStorage) -> None:
    user = make_user()
    storage.add_user(user)

    storage.set_password_hash(user.sub, "$argon2id$new")

    assert found(storage.get_user(user.sub)).password_hash == "$argon2id$new"


def test_disabling_a_user_ends_their_live_families_only_and_denies_their_access_tokens(
    storage: SqlStorage,
) -> None:
    client, alice, bob = make_client(), make_user("alice"), make_user("bob")
    storage.add_client(client)
    storage.add_user(alice)
    storage.add_user(bob)
    live_access, bobs_access = IssuedAccess("live-jti", NOW + 900), IssuedAccess("bob", NOW + 900)
    live, token = start_family(storage, client, alice, access=live_access)
    ended, _ = start_family(storage, client, alice)
    storage.revoke_family(ended.family_id, NOW + 1)
    bobs, _ = start_family(storage, client, bob, access=bobs_access)

    assert storage.set_user_disabled(alice.sub, True, NOW + 5) is True

    assert storage.is_access_token_denied(live_access.jti)
    assert not storage.is_access_token_denied(bobs_access.jti)

    assert found(storage.get_user(alice.sub)).disabled is True
    assert found(storage.get_family(live.family_id)).revoked_at == NOW + 5
    assert found(storage.get_family(ended.family_id)).revoked_at == NOW + 1
    assert found(storage.get_family(bobs.family_id)).revoked_at is None
    rotation = storage.rotate_refresh_token(token, new_hash(), client.client_id, NOW + 6, DAY)
    assert rotation.failure is RotationFailure.UNKNOWN


def test_an_import_that_disables_a_user_ends_their_sessions_and_denies_their_access_tokens(
    storage: SqlStorage,
) -> None:
    client, alice, bob = make_client(), make_user("alice"), make_user("bob")
    storage.add_client(client)
    storage.add_user(alice)
    storage.add_user(bob)
    alices, bobs = IssuedAccess("alice-jti", NOW + 900), IssuedAccess("bob-jti", NOW + 900)
    family, _ = start_family(storage, client, alice, access=alices)
    start_family(storage, client, bob, access=bobs)
    row = {"email": None, "password_hash": "$argon2id$x", "email_verified": False}

    storage.upsert_users(
        [
            {**row, "sub": "ignored", "username": "alice", "disabled": True},
            {**row, "sub": "ignored-too", "username": "bob", "disabled": False},
        ],
        NOW + 5,
    )

    assert found(storage.get_family(family.family_id)).revoked_at == NOW + 5
    assert storage.is_access_token_denied(alices.jti)
    assert not storage.is_access_token_denied(bobs.jti)


def test_enabling_a_user_does_not_revive_revoked_families(storage: SqlStorage) -> None:
    client, user = make_client(), make_user()
    storage.add_client(client)
    storage.add_user(user)
    family, _ = start_family(storage, client, user)
    storage.set_user_disabled(user.sub, True, NOW + 5)

    assert storage.set_user_disabled(user.sub, False, NOW + 6) is True

    assert found(storage.get_user(user.sub)).disabled is False
    assert found(storage.get_family(family.family_id)).revoked_at == NOW + 5


# -- refresh rotation ----------------------------------------------------------------------


def test_an_unknown_refresh_token_is_unknown(storage: SqlStorage, pair: Pair) -> None:
    client, _ = pair

    rotation = storage.rotate_refresh_token(new_hash(), new_hash(), client.client_id, NOW, DAY)

    assert rotation.family is None
    assert rotation.failure is RotationFailure.UNKNOWN


def test_a_used_refresh_token_is_reported_with_its_successor_and_nothing_changes(
    storage: SqlStorage, pair: Pair
) -> None:
    client, user = pair
    family, first = start_family(storage, client, user)
    second = new_hash()
    assert storage.rotate_refresh_token(first, second, client.client_id, NOW + 1, DAY).family

    replay = storage.rotate_refresh_token(first, new_hash(), client.client_id, NOW + 2, DAY)

    assert replay == Rotation(
        None, RotationFailure.USED, UsedToken(family.family_id, NOW + 1, second, None, family.sub)
    )
    assert found(storage.get_family(family.family_id)).revoked_at is None
    assert storage.rotate_refresh_token(second, new_hash(), client.client_id, NOW + 3, DAY).family
    again = storage.rotate_refresh_token(first, new_hash(), client.client_id, NOW + 4, DAY)
    assert again.used == UsedToken(family.family_id, NOW + 1, second, NOW + 3, family.sub)


def test_replacing_an_unused_successor_issues_another_and_denies_the_first_ones_access(
    storage: SqlStorage, pair: Pair
) -> None:
    client, user = pair
    family, presented = start_family(storage, client, user)
    lost, lost_access = new_hash(), IssuedAccess("lost-jti", NOW + 900)
    storage.rotate_refresh_token(presented, lost, client.client_id, NOW + 1, DAY, lost_access)
    again, access = new_hash(), IssuedAccess("again-jti", NOW + 902)

    replaced = storage.replace_successor(
        presented, lost, again, client.client_id, NOW + 3, DAY, access
    )

    assert replaced is not None and replaced.family_id == family.family_id
    assert replaced.last_used_at == NOW + 3
    assert storage.is_access_token_denied("lost-jti")
    assert not storage.is_access_token_denied("again-jti")
    refused = storage.rotate_refresh_token(lost, new_hash(), client.client_id, NOW + 4, DAY)
    assert refused == Rotation(
        None, RotationFailure.USED, UsedToken(family.family_id, NOW + 3, None, None, family.sub)
    )
    used = storage.rotate_refresh_token(presented, new_hash(), client.client_id, NOW + 4, DAY)
    first_use = UsedToken(family.family_id, NOW + 1, again, None, family.sub)
    assert used.used == first_use
    assert storage.rotate_refresh_token(again, new_hash(), client.client_id, NOW + 5, DAY).family


@pytest.mark.parametrize("case", ["successor used", "not its successor", "family ended"])
def test_a_successor_is_replaced_only_while_it_is_the_unused_one_of_a_live_family(
    storage: SqlStorage, pair: Pair, case: str
) -> None:
    client, user = pair
    family, presented = start_family(storage, client, user)
    successor = new_hash()
    storage.rotate_refresh_token(presented, successor, client.client_id, NOW + 1, DAY)
    expected = successor
    if case == "successor used":
        storage.rotate_refresh_token(successor, new_hash(), client.client_id, NOW + 2, DAY)
    elif case == "not its successor":
        expected = new_hash()
    else:
        storage.revoke_family(family.family_id, NOW + 2)

    replaced = storage.replace_successor(
        presented, expected, new_hash(), client.client_id, NOW + 3, DAY
    )

    assert replaced is None
    assert _count(storage, refresh_tokens, family_id=family.family_id) == (
        3 if case == "successor used" else 2
    )


def test_another_client_cannot_replace_a_successor(storage: SqlStorage, pair: Pair) -> None:
    client, user = pair
    storage.add_client(make_client("other"))
    _, presented = start_family(storage, client, user)
    successor = new_hash()
    storage.rotate_refresh_token(presented, successor, client.client_id, NOW + 1, DAY)

    assert (
        storage.replace_successor(presented, successor, new_hash(), "other", NOW + 2, DAY) is None
    )
    assert found(storage.inspect_refresh_token(successor)).used_at is None


def test_a_token_of_another_client_is_refused_and_stays_usable(
    storage: SqlStorage, pair: Pair
) -> None:
    client, user = pair
    other = make_client("other")
    storage.add_client(other)
    family, token = start_family(storage, client, user)

    wrong = storage.rotate_refresh_token(token, new_hash(), "other", NOW + 1, DAY)

    assert wrong.family is None
    assert wrong.failure is RotationFailure.OTHER_CLIENT
    assert found(storage.get_family(family.family_id)).revoked_at is None
    right = storage.rotate_refresh_token(token, new_hash(), client.client_id, NOW + 2, DAY)
    assert right.family is not None


def test_an_expired_refresh_token_is_unknown_and_revokes_nothing(
    storage: SqlStorage, pair: Pair
) -> None:
    client, user = pair
    family, token = start_family(storage, client, user, token_ttl=60)

    rotation = storage.rotate_refresh_token(token, new_hash(), client.client_id, NOW + 60, DAY)

    assert rotation.failure is RotationFailure.UNKNOWN
    assert found(storage.get_family(family.family_id)).revoked_at is None
    assert _count(storage, refresh_tokens, family_id=family.family_id) == 1


def test_a_token_of_a_revoked_family_is_unknown_and_not_consumed(
    storage: SqlStorage, pair: Pair
) -> None:
    client, user = pair
    family, token = start_family(storage, client, user)
    storage.revoke_family(family.family_id, NOW + 1)

    rotation = storage.rotate_refresh_token(token, new_hash(), client.client_id, NOW + 2, DAY)

    assert rotation.failure is RotationFailure.UNKNOWN
    with storage.engine.connect() as conn:
        used_at = conn.execute(
            select(refresh_tokens.c.used_at).where(refresh_tokens.c.token_hash == token)
        ).scalar_one()
    assert used_at is None
    assert _count(storage, refresh_tokens, family_id=family.family_id) == 1


def test_a_token_of_an_expired_family_is_unknown(storage: SqlStorage, pair: Pair) -> None:
    client, user = pair
    _, token = start_family(storage, client, user, token_ttl=DAY, family_ttl=DAY // 2)

    rotation = storage.rotate_refresh_token(
        token, new_hash(), client.client_id, NOW + DAY // 2, DAY
    )

    assert rotation.failure is RotationFailure.UNKNOWN


def test_rotation_returns_the_family_and_the_successor_works(
    storage: SqlStorage, pair: Pair
) -> None:
    client, user = pair
    family, first = start_family(storage, client, user)
    second, third = new_hash(), new_hash()

    rotation = storage.rotate_refresh_token(first, second, client.client_id, NOW + 10, DAY)

    assert rotation.failure is None
    assert rotation.family is not None
    assert rotation.family.family_id == family.family_id
    assert rotation.family.scope == family.scope
    assert rotation.family.audience == family.audience
    assert rotation.family.last_used_at == NOW + 10
    again = storage.rotate_refresh_token(second, third, client.client_id, NOW + 20, DAY)
    assert again.family is not None
    assert again.family.last_used_at == NOW + 20
    state = storage.inspect_refresh_token(third)
    assert state is not None and state.family == again.family


def test_a_successor_never_outlives_its_family(storage: SqlStorage, pair: Pair) -> None:
    client, user = pair
    family, first = start_family(storage, client, user, family_ttl=2 * DAY)
    successor = new_hash()

    storage.rotate_refresh_token(first, successor, client.client_id, NOW + 60, 30 * DAY)

    with storage.engine.connect() as conn:
        expires_at = conn.execute(
            select(refresh_tokens.c.expires_at).where(refresh_tokens.c.token_hash == successor)
        ).scalar_one()
    assert expires_at == family.expires_at


def test_inspecting_a_refresh_token_finds_its_family_without_consuming(
    storage: SqlStorage, pair: Pair
) -> None:
    client, user = pair
    family, token = start_family(storage, client, user)

    assert storage.inspect_refresh_token(new_hash()) is None
    state = storage.inspect_refresh_token(token)
    assert state is not None and state.family == family and state.used_at is None
    assert storage.rotate_refresh_token(token, new_hash(), client.client_id, NOW + 1, DAY).family


def test_revoking_a_family_keeps_the_first_revocation_time(storage: SqlStorage, pair: Pair) -> None:
    client, user = pair
    family, _ = start_family(storage, client, user)

    storage.revoke_family(family.family_id, NOW + 1)
    storage.revoke_family(family.family_id, NOW + 9)

    assert found(storage.get_family(family.family_id)).revoked_at == NOW + 1
    assert _count(storage, families, family_id=family.family_id) == 1


# -- signing keys --------------------------------------------------------------------------


def test_signing_keys_are_listed_oldest_first(storage: SqlStorage) -> None:
    newer = SigningKeyInfo(kid="k2", alg="RS256", state=KeyState.NEXT, created_at=NOW + 1)
    older = SigningKeyInfo(
        kid="k1", alg="ES256", state=KeyState.ACTIVE, created_at=NOW, activated_at=NOW
    )

    storage.add_signing_key(newer)
    storage.add_signing_key(older)

    assert storage.list_signing_keys() == [older, newer]
