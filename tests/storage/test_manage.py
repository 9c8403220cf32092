"""Storage of in-place changes: a client's settings and rotated secret, a user's identity,
deletion and paged listing."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from authority.storage import (
    PASSWORD_RESET,
    VERIFY_EMAIL,
    BrowserSession,
    Conflict,
    Consent,
    IssuedAccess,
    LinkToken,
)
from authority.storage.sql import SqlStorage
from authority.storage.tables import (
    browser_sessions,
    consents,
    families,
    one_time_tokens,
    refresh_tokens,
    users,
)
from tests.storage.factories import DAY, NOW, found, make_client, make_user, new_hash, start_family


def _count(storage: SqlStorage, table: object, sub: str) -> int:
    with storage.engine.connect() as conn:
        column = table.c.sub  # type: ignore[attr-defined]
        return int(conn.execute(select(func.count()).where(column == sub)).scalar_one())


def _link(storage: SqlStorage, sub: str, purpose: str) -> LinkToken:
    link = LinkToken(new_hash(), purpose, sub, NOW, NOW + DAY)
    storage.add_link(link)
    return link


# -- clients --------------------------------------------------------------------------------


def test_rotating_a_secret_keeps_the_replaced_one_until_its_expiry(storage: SqlStorage) -> None:
    storage.add_client(make_client("app", secret_hash="a" * 64))

    assert storage.rotate_client_secret("app", "b" * 64, NOW + DAY)

    client = found(storage.get_client("app"))
    assert (client.secret_hash, client.previous_secret_hash) == ("b" * 64, "a" * 64)
    assert client.previous_secret_expires_at == NOW + DAY


def test_a_second_rotation_drops_the_first_secret_and_no_grace_keeps_none(
    storage: SqlStorage,
) -> None:
    storage.add_client(make_client("app", secret_hash="a" * 64))
    storage.rotate_client_secret("app", "b" * 64, NOW + DAY)

    storage.rotate_client_secret("app", "c" * 64, NOW + 60)
    assert found(storage.get_client("app")).previous_secret_hash == "b" * 64

    storage.rotate_client_secret("app", "d" * 64, None)
    client = found(storage.get_client("app"))
    assert (client.secret_hash, client.previous_secret_hash) == ("d" * 64, "")
    assert client.previous_secret_expires_at is None


def test_rotation_refuses_an_unknown_or_public_client(storage: SqlStorage) -> None:
    storage.add_client(make_client("spa", secret_hash="", public=True))

    assert not storage.rotate_client_secret("nobody", "b" * 64, NOW)
    assert not storage.rotate_client_secret("spa", "b" * 64, NOW)
    assert found(storage.get_client("spa")).secret_hash == ""


def test_client_settings_replace_what_an_update_changes_and_keep_the_rest(
    storage: SqlStorage,
) -> None:
    original = make_client("app", secret_hash="a" * 64, introspect_any=True)
    storage.add_client(original)
    storage.rotate_client_secret("app", "b" * 64, NOW + DAY)
    changed = replace(
        original,
        name="renamed",
        grant_types=("client_credentials",),
        scopes=("x", "y"),
        default_scopes=("x",),
        audiences=("https://new.example",),
        allowed_origins=("https://app.example",),
        secret_hash="ignored" * 4,
        introspect_any=False,
    )

    assert storage.set_client_settings(changed)
    assert not storage.set_client_settings(replace(changed, client_id="nobody"))

    stored = found(storage.get_client("app"))
    assert stored == replace(
        changed,
        secret_hash="b" * 64,
        previous_secret_hash="a" * 64,
        previous_secret_expires_at=NOW + DAY,
        introspect_any=True,
    )


# -- users ----------------------------------------------------------------------------------


def test_a_page_of_users_is_ordered_by_username_and_starts_after_the_cursor(
    storage: SqlStorage,
) -> None:
    for name in ("carol", "alice", "dave", "bob"):
        storage.add_user(make_user(name))

    first = storage.list_users_page(2)
    rest = storage.list_users_page(10, after=first[-1].username)

    assert [u.username for u in first] == ["alice", "bob"]
    assert [u.username for u in rest] == ["carol", "dave"]
    assert [u.username for u in storage.list_users_page()] == ["alice", "bob", "carol", "dave"]


def test_search_matches_part_of_a_username_or_email_in_any_case(storage: SqlStorage) -> None:
    storage.add_user(make_user("Alice", email="a@wonder.example"))
    storage.add_user(make_user("bob", email="bob@example.org"))
    storage.add_user(make_user("ALICE_2"))
    storage.add_user(make_user("100%_sure"))

    # (as a set: how upper and lower case sort is the database's collation)
    assert {u.username for u in storage.list_users_page(search="alic")} == {"ALICE_2", "Alice"}
    assert [u.username for u in storage.list_users_page(search="EXAMPLE.ORG")] == ["bob"]
    assert [u.username for u in storage.list_users_page(search="WONDER")] == ["Alice"]
    # LIKE's wildcards are text here
    assert [u.username for u in storage.list_users_page(search="%_")] == ["100%_sure"]
    assert storage.list_users_page(search="nobody") == []


def test_a_new_identity_is_stored_and_a_new_address_is_unverified_with_its_links_void(
    storage: SqlStorage,
) -> None:
    user = make_user("alice", email="alice@example.com", email_verified=True)
    storage.add_user(user)
    reset = _link(storage, user.sub, PASSWORD_RESET)
    verify = _link(storage, user.sub, VERIFY_EMAIL)

    assert storage.set_identity(user.sub, "Alice2", "new@example.com", NOW + 1)

    stored = found(storage.get_user(user.sub))
    assert (stored.username, stored.email, stored.email_verified) == (
        "Alice2",
        "new@example.com",
        False,
    )
    assert storage.get_user_by_username("alice") is None
    assert storage.peek_link(reset.token_hash, PASSWORD_RESET, NOW + 2) is None
    assert storage.peek_link(verify.token_hash, VERIFY_EMAIL, NOW + 2) is None


def test_a_rename_alone_keeps_the_address_its_verification_and_links(
    storage: SqlStorage,
) -> None:
    user = make_user("alice", email="alice@example.com", email_verified=True)
    storage.add_user(user)
    reset = _link(storage, user.sub, PASSWORD_RESET)

    assert storage.set_identity(user.sub, "alicia", "alice@example.com", NOW + 1)

    stored = found(storage.get_user(user.sub))
    assert (stored.username, stored.email_verified) == ("alicia", True)
    assert storage.peek_link(reset.token_hash, PASSWORD_RESET, NOW + 2) == user.sub


def test_a_taken_username_in_any_case_or_a_taken_address_is_a_conflict(
    storage: SqlStorage,
) -> None:
    alice = make_user("alice", email="alice@example.com")
    storage.add_user(alice)
    storage.add_user(make_user("bob", email="bob@example.com"))

    with pytest.raises(Conflict, match="taken"):
        storage.set_identity(alice.sub, "BOB", "alice@example.com", NOW)
    with pytest.raises(Conflict, match="another account"):
        storage.set_identity(alice.sub, "alice", "bob@example.com", NOW)

    assert found(storage.get_user(alice.sub)) == alice
    assert not storage.set_identity("nobody", "carol", None, NOW)


def test_deleting_a_user_ends_their_sessions_and_removes_every_row_of_theirs(
    storage: SqlStorage,
) -> None:
    client = make_client("app")
    storage.add_client(client)
    user, other = make_user("alice"), make_user("bob")
    storage.add_user(user)
    storage.add_user(other)
    access = IssuedAccess("jti-alice", NOW + 600)
    start_family(storage, client, user, access=access)
    _, kept = start_family(storage, client, other)
    storage.start_browser_session(
        BrowserSession("browser", user.sub, NOW, ("pwd",), NOW, NOW, NOW + DAY), new_hash()
    )
    _link(storage, user.sub, PASSWORD_RESET)
    storage.grant_consent(Consent(user.sub, "app", ("read",), NOW))

    assert storage.delete_user(user.sub, NOW + 1)

    assert storage.get_user(user.sub) is None
    assert storage.is_access_token_denied("jti-alice")
    for table in (families, browser_sessions, one_time_tokens, consents):
        assert _count(storage, table, user.sub) == 0, table
    with storage.engine.connect() as conn:
        left = conn.execute(select(refresh_tokens.c.token_hash)).scalars().all()
        assert left == [kept]
        assert conn.execute(select(users.c.username)).scalars().all() == ["bob"]
    assert not storage.delete_user(user.sub, NOW + 2)
