"""The access line of each request (authority.web.access_log) and the request id on every
line written for a request, a 500's traceback included, as the JSON log writes them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from authority.observe.logs import JsonFormatter, RequestIdFilter
from authority.runtime import Authority
from authority.web.app import create_app
from tests.conftest import ISSUER, Registered
from tests.http.helpers import post_token

PASSWORD = "correct horse battery"
Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def json_log() -> Iterator[Lines]:
    """What the JSON log would hold, from the authority's loggers at INFO."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("authority")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def access_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["logger"] == "authority.access"]


def test_a_refused_client_is_not_named_by_its_access_line(
    http: TestClient, app_client: Registered, json_log: Lines
) -> None:
    wrong = Registered(app_client.client_id, "not-its-secret")
    data = {"grant_type": "client_credentials"}
    assert post_token(http, data, wrong, {"X-Request-ID": "refused-1"}).status_code == 401

    [line] = access_lines(json_log())
    assert (line["request_id"], line["status"], line["client_id"]) == ("refused-1", 401, None)


def test_the_access_line_names_the_route_status_client_and_request(
    http: TestClient, app_client: Registered, alice: str, json_log: Lines
) -> None:
    data = {"grant_type": "password", "username": "alice", "password": PASSWORD}
    response = post_token(http, data, app_client, {"X-Request-ID": "login-1"})
    assert response.status_code == 200

    lines = json_log()
    [line] = access_lines(lines)
    assert line["message"] == "POST /token 200"
    assert {k: v for k, v in line.items() if k not in ("time", "latency_ms")} == {
        "level": "INFO",
        "logger": "authority.access",
        "message": "POST /token 200",
        "request_id": "login-1",
        "event": "http.request",
        "route": "/token",
        "method": "POST",
        "status": 200,
        "client_id": app_client.client_id,
    }
    assert isinstance(line["latency_ms"], float) and line["latency_ms"] > 0
    # The grant's own line, written in the thread the login ran in, carries the id too.
    assert {r["request_id"] for r in lines} == {"login-1"}
    assert len(lines) == 2


def test_an_unexpected_error_logs_its_traceback_with_the_request_id_and_no_body(
    authority: Authority,
    app_client: Registered,
    alice: str,
    json_log: Lines,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("the client cache broke")

    monkeypatch.setattr(authority.clients, "authenticate_cached", broken)
    data = {"grant_type": "password", "username": "alice", "password": PASSWORD}
    app = create_app(authority=authority)
    with TestClient(app, base_url=ISSUER, raise_server_exceptions=False) as http:
        response = post_token(http, data, app_client, {"X-Request-ID": "broken-1"})
    assert response.status_code == 500

    lines = json_log()
    [error] = [line for line in lines if line["level"] == "ERROR"]
    assert error["message"] == "unexpected error on /token"
    assert error["request_id"] == "broken-1"
    assert "RuntimeError: the client cache broke" in error["exception"]
    [line] = access_lines(lines)
    assert (line["request_id"], line["status"], line["route"]) == ("broken-1", 500, "/token")
    logged = json.dumps(lines)
    assert PASSWORD not in logged and app_client.secret not in logged
