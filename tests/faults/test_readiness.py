"""/readyz of a real ``authority serve`` checks the schema, not only that the database
answers: with the schema gone, or at another revision, it is not ready (``/healthz`` is)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from authority.storage.engine import make_engine
from authority.storage.migrate import HEAD
from authority.storage.tables import metadata
from tests.conftest import POSTGRES_URL
from tests.e2e.servers import environment, free_port, serve

pytestmark = pytest.mark.e2e


def ready(issuer: str) -> tuple[int, dict[str, object]]:
    answer = httpx.get(f"{issuer}/readyz", timeout=10)
    return answer.status_code, answer.json()


def not_ready(database: str) -> dict[str, object]:
    return {"status": "unavailable", "checks": {"database": database, "signing_key": "ok"}}


@pytest.fixture(params=["sqlite", "postgresql"])
def own_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, Engine, str]]:
    """An empty database of this test's own (its schema is dropped): URL, engine, schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'authority.db'}"
        engine = make_engine(url)
        yield url, engine, "main"
        engine.dispose()
        return
    request.getfixturevalue("postgres_url")  # skips (or fails) when PostgreSQL is missing
    schema = f"authority_ready_{secrets.token_hex(4)}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    yield url, engine, schema
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def served(own_database: tuple[str, Engine, str], tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    url, engine, _ = own_database
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    with serve(environment(url, tmp_path / "keys", issuer), port, log=tmp_path / "serve.log"):
        yield issuer, engine


def test_not_ready_at_another_revision_or_with_the_schema_gone(served: tuple[str, Engine]) -> None:
    issuer, engine = served
    assert ready(issuer)[0] == 200

    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    assert ready(issuer) == (503, not_ready("wrong schema revision"))
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": HEAD})
    assert ready(issuer)[0] == 200

    with engine.begin() as conn:
        conn.execute(text("DROP TABLE revoked_access_tokens"))
    assert ready(issuer) == (503, not_ready("schema missing"))

    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(text(f"DROP TABLE IF EXISTS {table.name}"))
        conn.execute(text("DROP TABLE alembic_version"))
    assert ready(issuer) == (503, not_ready("schema missing"))
    assert httpx.get(f"{issuer}/healthz").status_code == 200
