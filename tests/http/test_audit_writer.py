"""How the server writes the audit trail: off the request path, flushed on its own within a
fraction of a second and at shutdown, off with AUTHORITY_AUDIT=off, client_credentials tokens
only when asked; scheduled rotations recorded; old rows purged by housekeeping."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from authority.events import EventType
from authority.runtime import Authority
from authority.settings import DAY, Settings
from authority.storage import AuditQuery, AuditRecord
from authority.storage.sql import SqlStorage
from authority.web.app import create_app
from tests.conftest import ISSUER, FakeClock, Registered
from tests.http.audit_helpers import of_type, trail
from tests.http.helpers import post_token

PASSWORD = "correct horse battery"
LOGIN = {"grant_type": "password", "username": "alice", "password": PASSWORD}
CREDENTIALS = {"grant_type": "client_credentials"}


def stored(storage: SqlStorage) -> list[AuditRecord]:
    """The rows as the database holds them, nothing flushed for the test."""
    return storage.audit_events(AuditQuery(), 1000, newest_first=False)


def test_a_row_is_written_within_a_second_with_no_flush_asked_for(
    http: TestClient, authority: Authority, storage: SqlStorage, app_client: Registered, alice: str
) -> None:
    assert authority.audit is not None
    assert post_token(http, LOGIN, app_client).status_code == 200
    deadline = time.monotonic() + 1.0
    while not stored(storage) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [r.type for r in stored(storage)] == [EventType.LOGIN_SUCCEEDED]


def test_shutting_down_writes_what_is_queued(
    settings: Settings,
    storage: SqlStorage,
    clock: FakeClock,
    authority: Authority,
    app_client: Registered,
    alice: str,
) -> None:
    runtime = Authority(settings, storage, clock)
    assert runtime.audit is not None
    runtime.audit.interval = 3600.0  # only shutdown will flush
    with TestClient(create_app(authority=runtime), base_url=ISSUER) as http:
        for _ in range(3):
            assert post_token(http, LOGIN, app_client).status_code == 200
        assert stored(storage) == []
        assert runtime.audit.queued == 3
    assert [r.type for r in stored(storage)] == [EventType.LOGIN_SUCCEEDED] * 3


def test_with_the_trail_off_nothing_is_written(
    settings: Settings,
    storage: SqlStorage,
    clock: FakeClock,
    authority: Authority,
    app_client: Registered,
    alice: str,
) -> None:
    runtime = Authority(settings.replace(audit=False), storage, clock)
    assert runtime.audit is None
    with TestClient(create_app(authority=runtime), base_url=ISSUER) as http:
        assert post_token(http, LOGIN, app_client).status_code == 200
        assert post_token(http, {**LOGIN, "password": "wrong!"}, app_client).status_code == 400
    assert stored(storage) == []


@pytest.mark.parametrize("on", [False, True])
def test_client_credentials_tokens_are_rows_only_when_asked_for(
    settings: Settings,
    storage: SqlStorage,
    clock: FakeClock,
    authority: Authority,
    service_client: Registered,
    app_client: Registered,
    alice: str,
    on: bool,
) -> None:
    runtime = Authority(settings.replace(audit_client_credentials=on), storage, clock)
    with TestClient(create_app(authority=runtime), base_url=ISSUER) as http:
        for _ in range(2):
            assert post_token(http, CREDENTIALS, service_client).status_code == 200
        assert post_token(http, LOGIN, app_client).status_code == 200  # no token row for it
    issued = [r for r in stored(storage) if r.type == EventType.TOKEN_ISSUED]
    assert len(issued) == (2 if on else 0)
    for record in issued:
        assert (record.actor_kind, record.actor) == ("client", service_client.client_id)
        assert record.client_id == service_client.client_id
        assert record.detail == {"grant_type": "client_credentials"}
    assert [r.type for r in stored(storage) if r.type != EventType.TOKEN_ISSUED] == [
        EventType.LOGIN_SUCCEEDED
    ]


def test_a_scheduled_rotation_and_the_removal_of_its_old_key_are_recorded(
    authority: Authority, clock: FakeClock
) -> None:
    before = {k.kid: k.state for k in authority.storage.list_signing_keys()}
    clock.advance(authority.settings.key_rotation_days * DAY + 1)
    authority.maintain_keys()
    [rotated] = of_type(authority, EventType.KEY_ROTATED)
    assert (rotated.actor_kind, rotated.actor) == ("system", None)
    assert rotated.detail["how"] == "scheduled"
    assert rotated.detail["alg"] == "ES256"
    assert rotated.detail["retired"] in before
    assert rotated.subject in before and before[rotated.subject] == "next"

    clock.advance(authority.timings.removable_at(0) + 1)
    authority.maintain_keys()
    removed = of_type(authority, EventType.KEY_REMOVED)
    assert rotated.detail["retired"] in {r.subject for r in removed}


@pytest.mark.parametrize("days", [90, 0])
def test_housekeeping_purges_rows_past_their_retention(
    settings: Settings, storage: SqlStorage, clock: FakeClock, authority: Authority, days: int
) -> None:
    runtime = Authority(settings.replace(audit_retention_days=days), storage, clock)
    now = clock.now
    ages = [200, 91, 89, 1]
    storage.add_audit_events(
        [
            AuditRecord(now - age * DAY, "login.failed", "client", detail={"age": age})
            for age in ages
        ]
    )
    runtime.housekeep()
    kept = [r.detail["age"] for r in trail(runtime)]
    assert kept == ([89, 1] if days else ages)
