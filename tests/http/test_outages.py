"""Which failures are outages: a database or Redis that cannot answer is 503
``temporarily_unavailable`` with one log line and no traceback; any other database error
is a bug, answered 500 with its traceback in the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.testclient import TestClient

from authority.runtime import Authority
from authority.storage.sql import SqlStorage
from authority.web.app import create_app
from tests.conftest import ISSUER, Registered
from tests.http.helpers import assert_error, assert_no_store, post_token

CC = {"grant_type": "client_credentials"}
UNAVAILABLE = ("temporarily_unavailable", "The service is temporarily unavailable; retry shortly.")


@pytest.fixture
def lenient(authority: Authority) -> Iterator[TestClient]:
    """A client that gets the 500 answer instead of the exception behind it."""
    app = create_app(authority=authority)
    with TestClient(app, base_url=ISSUER, raise_server_exceptions=False) as client:
        yield client


def failing(error: Exception) -> object:
    def fail(*_args: object) -> None:
        raise error

    return fail


def outage_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "temporarily unavailable" in r.getMessage()]


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (PoolTimeout("QueuePool limit of size 10 overflow 10 reached"), "TimeoutError"),
        (
            OperationalError("SELECT", {}, ConnectionRefusedError("refused")),
            "OperationalError (builtins.ConnectionRefusedError)",
        ),
    ],
    ids=["pool-timeout", "operational"],
)
def test_a_database_outage_is_503_with_one_line_and_no_traceback(
    http: TestClient,
    storage: SqlStorage,
    service_client: Registered,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    kind: str,
) -> None:
    monkeypatch.setattr(storage, "get_client", failing(error))
    with caplog.at_level(logging.WARNING, logger="authority"):
        response = post_token(http, CC, service_client)
    assert_error(response, 503, *UNAVAILABLE)
    assert response.headers["retry-after"] == "1"
    assert_no_store(response)
    [record] = outage_records(caplog)
    assert record.getMessage() == f"temporarily unavailable on POST /token: {kind}"
    assert record.exc_info is None
    assert [r for r in caplog.records if r.exc_info] == []


def test_a_redis_outage_is_503_with_one_line_and_no_traceback(
    http: TestClient,
    storage: SqlStorage,
    app_client: Registered,
    alice: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    redis = pytest.importorskip("redis")
    # The login throttle's counter is where Redis sits when AUTHORITY_REDIS_URL is set.
    monkeypatch.setattr(storage, "reserve", failing(redis.ConnectionError("refused")))
    login = {"grant_type": "password", "username": "alice", "password": "correct horse battery"}
    with caplog.at_level(logging.WARNING, logger="authority"):
        response = post_token(http, login, app_client)
    assert_error(response, 503, *UNAVAILABLE)
    [record] = outage_records(caplog)
    assert record.getMessage() == "temporarily unavailable on POST /token: ConnectionError"
    assert record.exc_info is None


@pytest.mark.parametrize(
    "error",
    [
        DataError("SELECT", {}, ValueError("bad data")),
        IntegrityError("INSERT", {}, ValueError("duplicate key")),
    ],
    ids=["data", "integrity"],
)
def test_any_other_database_error_is_a_500_with_its_traceback(
    lenient: TestClient,
    storage: SqlStorage,
    service_client: Registered,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
) -> None:
    monkeypatch.setattr(storage, "get_client", failing(error))
    with caplog.at_level(logging.WARNING, logger="authority"):
        response = post_token(lenient, CC, service_client)
    assert_error(response, 500, "server_error", "The server met an unexpected condition.")
    assert outage_records(caplog) == []
    assert any(r.exc_info and r.exc_info[1] is error for r in caplog.records)
