"""Shared fixtures: every storage-backed test runs on SQLite and on PostgreSQL.

PostgreSQL comes from AUTHORITY_TEST_POSTGRES_URL (default: the local server, database
``test``). When it cannot be reached the PostgreSQL half is skipped, unless
AUTHORITY_TEST_REQUIRE_POSTGRES=1 (as in CI), which turns that skip into a failure.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from authority.admin.bootstrap import prepare
from authority.admin.provision import Admin
from authority.runtime import Authority
from authority.settings import Settings
from authority.storage import migrate
from authority.storage.engine import make_engine
from authority.storage.sql import SqlStorage
from authority.storage.tables import metadata
from authority.web.app import create_app

ISSUER = "http://localhost:8000"
POSTGRES_URL = os.environ.get(
    "AUTHORITY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("AUTHORITY_TEST_REQUIRE_POSTGRES") == "1"


# Cheap argon2 parameters for tests; production defaults are OWASP's (see settings.py).
class Argon2Costs(TypedDict):
    argon2_time_cost: int
    argon2_memory_cost: int
    argon2_parallelism: int


FAST_ARGON2 = Argon2Costs(argon2_time_cost=1, argon2_memory_cost=1024, argon2_parallelism=1)


class FakeClock:
    """A clock tests move by hand instead of sleeping."""

    def __init__(self, now: float | None = None) -> None:
        self.now = float(int(time.time())) if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A schema of our own in the test database, dropped at the end of the session."""
    schema = f"authority_test_{os.getpid()}_{secrets.token_hex(3)}"
    engine = make_engine(POSTGRES_URL)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        engine.dispose()
        message = f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc.__class__.__name__}"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message + " (set AUTHORITY_TEST_POSTGRES_URL to run these tests)")
    sep = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    schema_engine = make_engine(url)
    migrate.upgrade(schema_engine)
    schema_engine.dispose()
    yield url
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "authority.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    empty_postgres(url)
    return url


def empty_postgres(url: str) -> None:
    """Every table of the session's PostgreSQL schema emptied."""
    engine = make_engine(url)
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} CASCADE"))
    engine.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        issuer=ISSUER,
        database_url=database_url,
        keys_dir=tmp_path / "keys",
        client_cache_ttl=0,
        id_token_alg="ES256",  # RSA key generation is slow; id_token tests ask for RS256
        **FAST_ARGON2,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def storage(settings: Settings) -> Iterator[SqlStorage]:
    storage = SqlStorage.from_url(settings.database_url)
    yield storage
    storage.close()


@pytest.fixture
def authority(settings: Settings, storage: SqlStorage, clock: FakeClock) -> Authority:
    prepare(settings, storage)
    return Authority(settings, storage, clock=clock)


@pytest.fixture
def admin(authority: Authority) -> Admin:
    return Admin(authority.settings, authority.storage)


@pytest.fixture
def http(authority: Authority) -> Iterator[TestClient]:
    with TestClient(create_app(authority=authority), base_url=ISSUER) as client:
        yield client


@dataclass(frozen=True)
class Registered:
    client_id: str
    secret: str

    @property
    def basic(self) -> tuple[str, str]:
        return (self.client_id, self.secret)


@pytest.fixture
def service_client(admin: Admin) -> Registered:
    """A client_credentials client with scopes read/write and one audience."""
    client, secret = admin.create_client(
        "service", ["client_credentials"], ["read", "write"], ["read"], ["https://api.example"]
    )
    return Registered(client.client_id, secret)


@pytest.fixture
def app_client(admin: Admin) -> Registered:
    """A first-party app: password + refresh_token, scopes read/write/admin."""
    client, secret = admin.create_client(
        "app",
        ["password", "refresh_token"],
        ["read", "write", "admin"],
        ["read", "write"],
        ["https://api.example", "https://other.example"],
    )
    return Registered(client.client_id, secret)


@pytest.fixture
def alice(admin: Admin) -> str:
    """A user alice with password 'correct horse battery'; returns her sub."""
    return admin.create_user("alice", "correct horse battery", "alice@example.com").sub
