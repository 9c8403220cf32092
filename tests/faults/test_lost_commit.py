"""A COMMIT whose answer is lost: the write is not run again, the client is told to retry,
and its retried refresh keeps the session (it is a replay, not a reuse)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, select, update
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.testclient import TestClient

from authority.admin.bootstrap import prepare
from authority.admin.provision import Admin
from authority.errors import TemporarilyUnavailable
from authority.runtime import Authority
from authority.settings import Settings
from authority.storage.sql import SqlStorage
from authority.storage.tables import clients
from authority.web.app import create_app
from tests.conftest import FAST_ARGON2, ISSUER, FakeClock, Registered
from tests.faults.proxy import FaultProxy
from tests.http.helpers import post_token
from tests.storage.factories import make_client

PASSWORD = "correct horse battery"
# The COMMIT query message itself, NUL-terminated on the wire: a pooled connection coming back
# from autocommit reads opens its next transaction with "BEGIN ISOLATION LEVEL READ COMMITTED".
COMMIT = b"COMMIT\x00"
UNAVAILABLE = {
    "error": TemporarilyUnavailable.error,
    "error_description": TemporarilyUnavailable.description,
}

# The PostgreSQL half of ``database_url`` only: it empties the test schema the proxy reaches.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def proxied_storage(database_url: str, proxied_url: str) -> Iterator[SqlStorage]:
    storage = SqlStorage.from_url(proxied_url)
    yield storage
    storage.close()


@pytest.fixture
def http(proxied_storage: SqlStorage, proxied_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        issuer=ISSUER,
        database_url=proxied_url,
        keys_dir=tmp_path / "keys",
        client_cache_ttl=0,
        id_token_alg="ES256",
        **FAST_ARGON2,
    )
    prepare(settings, proxied_storage)
    authority = Authority(settings, proxied_storage, clock=FakeClock())
    with TestClient(create_app(authority=authority), base_url=ISSUER) as client:
        yield client


@pytest.fixture
def app(http: TestClient, proxied_storage: SqlStorage) -> Registered:
    """A first-party app and the user alice, on the proxied database."""
    assert isinstance(http.app, Starlette)
    authority: Authority = http.app.state.authority
    admin = Admin(authority.settings, proxied_storage)
    client, secret = admin.create_client("app", ["password", "refresh_token"], ["read"], None, [])
    admin.create_user("alice", PASSWORD, None)
    return Registered(client.client_id, secret)


def refresh(http: TestClient, app: Registered, token: str) -> Any:
    return post_token(http, {"grant_type": "refresh_token", "refresh_token": token}, app)


def test_a_write_whose_commit_got_no_answer_is_not_run_again(
    proxied_storage: SqlStorage, proxy: FaultProxy
) -> None:
    proxied_storage.add_client(make_client("probe", name="run"))
    runs = []

    def work(conn: Connection) -> None:
        runs.append(1)
        probe = clients.c.client_id == "probe"
        conn.execute(update(clients).where(probe).values(name=clients.c.name + "+"))

    proxy.lose_answer_to(COMMIT)

    with pytest.raises(DBAPIError):
        proxied_storage._write(work)

    assert runs == [1]
    assert proxy.answers_lost == 1
    # FOR UPDATE waits for the server to finish the transaction whose answer was lost.
    name = proxied_storage._write(
        lambda conn: conn.execute(
            select(clients.c.name).where(clients.c.client_id == "probe").with_for_update()
        ).scalar_one()
    )
    assert name == "run+"  # the server committed it, once


def test_a_write_on_a_connection_the_server_had_dropped_is_retried(
    proxied_storage: SqlStorage, proxy: FaultProxy
) -> None:
    proxied_storage.get_client("warm the pool")
    proxy.cut()  # the pooled connection is dead before any statement is sent

    proxied_storage.add_client(make_client("after-a-cut"))

    assert proxied_storage.get_client("after-a-cut") is not None


def test_a_refresh_whose_commit_answer_was_lost_answers_503_and_its_retry_keeps_the_session(
    http: TestClient, app: Registered, proxy: FaultProxy
) -> None:
    data = {"grant_type": "password", "username": "alice", "password": PASSWORD}
    login = post_token(http, data, app).json()
    proxy.lose_answer_to(COMMIT)

    lost = refresh(http, app, login["refresh_token"])

    assert (lost.status_code, lost.json()) == (503, UNAVAILABLE)
    assert proxy.answers_lost == 1
    retried = refresh(http, app, login["refresh_token"])
    assert retried.status_code == 200, retried.text
    introspected = http.post(
        "/introspect", data={"token": retried.json()["access_token"]}, auth=app.basic
    )
    assert introspected.json()["active"] is True
    # The session lives on: the retry's refresh token rotates as usual.
    after = refresh(http, app, retried.json()["refresh_token"])
    assert after.status_code == 200, after.text
