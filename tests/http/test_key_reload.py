"""Keys that can no longer be reloaded stop signing and verifying after a stated bound."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from authority.admin.bootstrap import prepare
from authority.keys import DirectoryKeyStore, lifecycle
from authority.runtime import Authority
from authority.settings import Settings
from authority.storage.sql import SqlStorage
from tests.conftest import FakeClock, Registered
from tests.http.helpers import assert_error, database_unreachable, post_token

UNAVAILABLE = ("temporarily_unavailable", "The service is temporarily unavailable; retry shortly.")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Clients are cached, so client_credentials needs no database: only the keys can stop it.
    return settings.replace(client_cache_ttl=300, key_reload_seconds=30)


def _token(http: TestClient, client: Registered) -> str:
    response = post_token(http, {"grant_type": "client_credentials"}, client)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_keys_unconfirmed_for_two_reload_periods_stop_signing_and_introspection(
    http: TestClient,
    authority: Authority,
    service_client: Registered,
    storage: SqlStorage,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    token = _token(http, service_client)  # the client is cached from here on
    with database_unreachable(storage, monkeypatch, tmp_path):
        authority.maintain_keys()  # the reload fails: a revocation elsewhere cannot be seen
        clock.advance(60)  # two reload periods: still within the bound
        assert _token(http, service_client)
        clock.advance(1)
        refused = post_token(http, {"grant_type": "client_credentials"}, service_client)
        assert_error(refused, 503, *UNAVAILABLE)
        asked = http.post("/introspect", data={"token": token}, auth=service_client.basic)
        assert_error(asked, 503, *UNAVAILABLE)
        # Verifiers keep the last published key set; the server only stops vouching itself.
        assert http.get("/jwks.json").status_code == 200
    authority.maintain_keys()  # the database is back: the keys are confirmed again
    assert _token(http, service_client)


def test_a_refresh_refused_for_unconfirmed_keys_leaves_its_refresh_token_usable(
    http: TestClient,
    authority: Authority,
    app_client: Registered,
    alice: str,
    storage: SqlStorage,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    login = post_token(
        http,
        {"grant_type": "password", "username": "alice", "password": "correct horse battery"},
        app_client,
    )
    refresh = {"grant_type": "refresh_token", "refresh_token": login.json()["refresh_token"]}
    # A key published by a process whose keys folder this server cannot read: the database
    # answers, but every reload fails (the key's private half is missing here).
    stray = lifecycle.add_next(storage, DirectoryKeyStore(tmp_path / "elsewhere"), "EdDSA", 0)
    authority.maintain_keys()
    clock.advance(61)
    assert_error(post_token(http, refresh, app_client), 503, *UNAVAILABLE)
    storage.delete_signing_key(stray.kid)
    authority.maintain_keys()
    assert post_token(http, refresh, app_client).status_code == 200  # not consumed by the 503


def test_a_reload_that_works_again_is_logged_once_each_way(
    authority: Authority,
    storage: SqlStorage,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="authority"):
        with database_unreachable(storage, monkeypatch, tmp_path):
            for _ in range(3):
                authority.keys.try_reload()
        authority.keys.try_reload()
    messages = [r.getMessage() for r in caplog.records if r.name == "authority"]
    assert len(messages) == 2
    assert messages[0].startswith("key maintenance: key reload failed: ")
    assert messages[1] == "key maintenance: key reload works again"


def test_a_server_that_starts_signs_at_once(settings: Settings, storage: SqlStorage) -> None:
    prepare(settings, storage)
    clock = FakeClock()
    fresh = Authority(settings, storage, clock=clock)
    clock.advance(3600)  # no reload has failed: age alone never refuses the keys
    assert fresh.minter.access_token(
        sub="c", client_id="c", scope=(), audience=("https://api.example",), now=fresh.now()
    ).token
