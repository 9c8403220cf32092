"""Liveness (/healthz) and readiness (/readyz) probes."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from authority.runtime import Authority
from authority.storage.sql import SqlStorage
from tests.http.helpers import database_unreachable

READY = {"status": "ok", "checks": {"database": "ok", "signing_key": "ok"}}


def test_readiness_fails_when_the_database_is_unreachable(
    http: TestClient, storage: SqlStorage, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with database_unreachable(storage, monkeypatch, tmp_path):
        response = http.get("/readyz")
    assert (response.status_code, response.json()) == (
        503,
        {"status": "unavailable", "checks": {"database": "unreachable", "signing_key": "ok"}},
    )
    assert response.headers["cache-control"] == "no-store"


def test_readiness_recovers_when_the_database_is_back(
    http: TestClient, storage: SqlStorage, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with database_unreachable(storage, monkeypatch, tmp_path):
        assert http.get("/readyz").status_code == 503
    response = http.get("/readyz")
    assert (response.status_code, response.json()) == (200, READY)


def test_readiness_fails_without_an_active_signing_key(
    http: TestClient, authority: Authority, storage: SqlStorage
) -> None:
    for key in storage.list_signing_keys():
        storage.delete_signing_key(key.kid)
    authority.keys.reload()
    response = http.get("/readyz")
    assert (response.status_code, response.json()) == (
        503,
        {"status": "unavailable", "checks": {"database": "ok", "signing_key": "missing"}},
    )


def test_liveness_holds_while_the_database_is_unreachable(
    http: TestClient, storage: SqlStorage, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with database_unreachable(storage, monkeypatch, tmp_path):
        response = http.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_liveness_answers_ok(http: TestClient) -> None:
    response = http.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"


def test_readiness_answers_ok_with_its_checks(http: TestClient) -> None:
    response = http.get("/readyz")
    assert (response.status_code, response.json()) == (200, READY)
    assert response.headers["cache-control"] == "no-store"


def test_the_icon_browsers_ask_for_is_an_empty_answer_not_a_404(http: TestClient) -> None:
    response = http.get("/favicon.ico")
    assert (response.status_code, response.content) == (204, b"")
    assert response.headers["cache-control"] == "public, max-age=86400"
