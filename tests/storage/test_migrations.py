"""Alembic migrations: an empty database upgraded to head matches the table models."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from authority.storage import Conflict, User, migrate
from authority.storage.engine import make_engine
from authority.storage.sql import SqlStorage
from authority.storage.tables import metadata
from tests.conftest import POSTGRES_URL
from tests.storage.factories import make_client


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database (or PostgreSQL schema) with no tables at all."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    request.getfixturevalue("postgres_url")  # skips (or fails in CI) when unreachable
    schema = f"authority_migrate_{secrets.token_hex(4)}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    engine = make_engine(f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


def test_an_empty_database_is_not_current(empty_engine: Engine) -> None:
    assert not migrate.is_current(empty_engine)
    assert inspect(empty_engine).get_table_names() == []


def test_upgrading_an_empty_database_gives_the_model_schema(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)

    assert migrate.is_current(empty_engine)
    assert _differences(empty_engine) == []
    tables = set(inspect(empty_engine).get_table_names())
    assert tables == {t.name for t in metadata.sorted_tables} | {"alembic_version"}


def test_upgrading_twice_changes_nothing_and_keeps_data(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    client = make_client("kept")
    SqlStorage(empty_engine).add_client(client)

    migrate.upgrade(empty_engine)

    assert migrate.is_current(empty_engine)
    assert _differences(empty_engine) == []
    assert SqlStorage(empty_engine).get_client("kept") == client


def test_the_head_constant_names_alembics_head_revision() -> None:
    from authority.storage import migrate

    assert migrate.head() == migrate.HEAD


def test_clients_made_before_introspection_rights_introspect_their_own_tokens_only(
    empty_engine: Engine,
) -> None:
    from alembic import command

    config = migrate._config()
    with empty_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0004")
        conn.execute(
            text(
                "INSERT INTO clients (client_id, name, secret_hash, grant_types, scopes, "
                "default_scopes, audiences, disabled, created_at) VALUES ('old', 'app', :h, "
                "'client_credentials', 'read', 'read', '', false, 1)"
            ),
            {"h": "0" * 64},
        )

    migrate.upgrade(empty_engine)

    client = SqlStorage(empty_engine).get_client("old")
    assert client is not None
    assert (client.resource_servers, client.introspect_any) == ((), False)


def test_usernames_differing_only_in_case_survive_0006_and_the_oldest_keeps_the_name(
    empty_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    from alembic import command

    config = migrate._config()
    with empty_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0004")
    insert = text(
        "INSERT INTO users (sub, username, email, password_hash, disabled, created_at, "
        "email_verified) VALUES (:sub, :username, NULL, 'x', false, :created_at, false)"
    )
    with empty_engine.begin() as conn:
        for sub, username, created_at in [
            ("s1", "alice", 1),
            ("s2", "Alice", 2),
            ("s3", "bob", 3),
            ("s4", "ALICE", 4),
        ]:
            conn.execute(insert, {"sub": sub, "username": username, "created_at": created_at})

    with caplog.at_level("WARNING", logger="authority"):
        migrate.upgrade(empty_engine)

    assert _differences(empty_engine) == []
    with empty_engine.connect() as conn:
        rows = conn.execute(text("SELECT username, username_key FROM users")).all()
    keys = {username: key for username, key in rows}
    assert keys == {"alice": "alice", "Alice": None, "bob": "bob", "ALICE": None}
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "'Alice', 'ALICE'" in warning
    storage = SqlStorage(empty_engine)
    assert storage.get_user_by_username("Alice") is not None  # still signs in
    with pytest.raises(Conflict):  # and nobody makes another one
        storage.add_user(User("s5", "aLiCe", None, "x", False, 5))


def test_clients_made_before_cookie_mode_keep_their_settings_and_have_no_origins(
    empty_engine: Engine,
) -> None:
    from alembic import command

    config = migrate._config()
    with empty_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0008")
        conn.execute(
            text(
                "INSERT INTO clients (client_id, name, secret_hash, grant_types, scopes, "
                "default_scopes, audiences, disabled, created_at, redirect_uris, public) "
                "VALUES ('old', 'web', '', 'authorization_code refresh_token', 'openid', "
                "'openid', '', false, 1, 'https://app.example/cb', true)"
            )
        )

    migrate.upgrade(empty_engine)

    assert _differences(empty_engine) == []
    storage = SqlStorage(empty_engine)
    client = storage.get_client("old")
    assert client is not None
    assert (client.refresh_cookie, client.allowed_origins) == (False, ())
    assert (client.public, client.redirect_uris) == (True, ("https://app.example/cb",))
    assert client.grant_types == ("authorization_code", "refresh_token")
    assert storage.browser_origins() == []
