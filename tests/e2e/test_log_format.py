"""`authority serve` logs in AUTHORITY_LOG_FORMAT. With json every line it writes is a JSON
object, a request has one access line and its id on every line written for it, and a whole
session leaves no secret in the log; text stays the human-readable log it was."""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

from tests.e2e.raw_http import sqlite_url
from tests.e2e.servers import cli, environment, free_port, serve
from tests.mailbox import Mailbox, link, token

__all__ = ["sqlite_url"]  # a fixture
pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"
RESET_PATH = "/accounts/password/reset"
VERIFY_PATH = "/accounts/verify-email"


def basic(client_id: str, secret: str) -> str:
    """The credentials of an ``Authorization: Basic`` header."""
    return base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@dataclass
class Server:
    issuer: str
    env: dict[str, str]
    log: Path
    mailbox: Mailbox
    client: tuple[str, str] = ("", "")
    # What must never reach the log, gathered as the session goes.
    secrets: list[str] = field(default_factory=list)

    def add_client(self, *grants: str, scope: str = "profile") -> None:
        options = [arg for grant in grants for arg in ("--grant", grant)]
        app = cli(self.env, "clients", "create", "app", *options, "--scope", scope)
        self.client = (app["client_id"], app["client_secret"])
        self.secrets += [self.client[1], basic(*self.client)]

    def post_token(self, **data: str) -> httpx.Response:
        return httpx.post(f"{self.issuer}/token", data=data, auth=self.client)

    def tokens(self, **data: str) -> dict[str, Any]:
        response = self.post_token(**data)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        for name in ("access_token", "refresh_token", "id_token"):
            if name in answer:
                self.secrets.append(answer[name])
        return answer

    def records(self) -> list[dict[str, Any]]:
        """Every line of the log, parsed: fails on the first that is not a JSON object."""
        records = []
        for line in self.log.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                raise AssertionError(f"a line that is not JSON: {line!r}") from None
            assert isinstance(record, dict), line
            records.append(record)
        return records


@contextmanager
def running(tmp_path: Path, database_url: str, *options: str, **env: str) -> Iterator[Server]:
    """``authority serve --access-log`` with its stdout and stderr in one file."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    mail = tmp_path / "mail"
    settings = environment(
        database_url,
        tmp_path / "keys",
        issuer,
        **{"AUTHORITY_EMAIL_URL": f"file://{mail}", "AUTHORITY_LOG_LEVEL": "INFO", **env},
    )
    log = tmp_path / "serve.log"
    with serve(settings, port, "--access-log", *options, log=log):
        yield Server(issuer, settings, log, Mailbox(mail))


def access_line(records: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
    [line] = [
        r for r in records if r["logger"] == "authority.access" and r["request_id"] == request_id
    ]
    return line


@pytest.mark.parametrize("workers", ["1", "2"])
def test_every_line_is_json_and_a_request_id_is_on_its_lines_and_in_its_answer(
    sqlite_url: str, tmp_path: Path, workers: str
) -> None:
    # Without AUTHORITY_ISSUER, serve's word on the issuer it picked is a JSON line too.
    json_log = {"AUTHORITY_LOG_FORMAT": "json", "AUTHORITY_ISSUER": ""}
    with running(tmp_path, sqlite_url, "--workers", workers, **json_log) as server:
        server.add_client("password")
        cli(server.env, "users", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n")
        login = httpx.post(
            f"{server.issuer}/token",
            data={"grant_type": "password", "username": "alice", "password": PASSWORD},
            auth=server.client,
            headers={"X-Request-ID": "e2e-login-1"},
        )
        assert login.status_code == 200
        assert login.headers["x-request-id"] == "e2e-login-1"
        # An id that would forge a field of the line gives way to one of the server's own.
        forged = httpx.get(f"{server.issuer}/healthz", headers={"X-Request-ID": 'x", "status": 1'})
        own_id = forged.headers["x-request-id"]
        assert re.fullmatch("[0-9a-f]{32}", own_id)
        ended = httpx.delete(f"{server.issuer}/sessions/s3ss10n-1d")
        assert ended.status_code == 401
        assert httpx.get(f"{server.issuer}/no/such/page").status_code == 404
    records = server.records()

    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
        assert datetime.fromisoformat(record["time"]).utcoffset() == timedelta(0), record
    [picked] = [r for r in records if "AUTHORITY_ISSUER is not set" in r["message"]]
    assert (picked["level"], picked["logger"]) == ("WARNING", "authority")
    # uvicorn's own lines are JSON too, its access line gives way to the app's.
    assert any(r["logger"] == "uvicorn.error" for r in records)
    assert not [r for r in records if r["logger"] == "uvicorn.access"]
    # The login's lines, the grant's own written in a worker thread, all carry its id.
    of_login = [r for r in records if r.get("request_id") == "e2e-login-1"]
    assert {r["logger"] for r in of_login} == {"authority.audit", "authority.access"}, of_login
    line = access_line(records, "e2e-login-1")
    assert line["message"] == "POST /token 200"
    assert line["latency_ms"] > 0
    assert {k: line[k] for k in ("event", "route", "method", "status", "client_id")} == {
        "event": "http.request",
        "route": "/token",
        "method": "POST",
        "status": 200,
        "client_id": server.client[0],
    }
    assert access_line(records, own_id)["route"] == "/healthz"
    # A route's template, never the path with its id; no route when none matched.
    ended_line = access_line(records, ended.headers["x-request-id"])
    assert (ended_line["route"], ended_line["status"]) == ("/sessions/{session_id}", 401)
    assert ended_line["client_id"] is None
    assert "s3ss10n-1d" not in server.log.read_text()
    assert [r["status"] for r in records if r.get("route", "") is None] == [404]
    # One access line per request (the readiness polls included), each with its id.
    access = [r for r in records if r["logger"] == "authority.access"]
    assert set(Counter(r["request_id"] for r in access).values()) == {1}


def test_a_whole_session_leaves_no_secret_password_or_token_in_the_log(
    database_url: str, tmp_path: Path
) -> None:
    with running(
        tmp_path,
        database_url,
        AUTHORITY_LOG_FORMAT="json",
        AUTHORITY_LOG_LEVEL="DEBUG",
        AUTHORITY_REGISTRATION="open",
    ) as server:
        server.add_client("password", "refresh_token", scope="openid profile")
        issuer, email = server.issuer, "bob@example.com"
        server.secrets.append(PASSWORD)
        registered = httpx.post(
            f"{issuer}/accounts/register",
            data={"username": "bob", "email": email, "password": PASSWORD},
        )
        assert registered.status_code == 201
        [welcome] = server.mailbox.wait_for(1, to=email)
        verify = token(welcome, VERIFY_PATH)
        server.secrets.append(verify)
        assert httpx.get(link(welcome)).status_code == 200  # the link's page
        assert httpx.post(f"{issuer}{VERIFY_PATH}", data={"token": verify}).status_code == 200

        # Mistakes are logged too, their secrets never.
        wrong = "not my password at all"
        server.secrets.append(wrong)
        failed = server.post_token(grant_type="password", username="bob", password=wrong)
        assert failed.status_code == 400
        bad_secret = "not-the-client-secret-of-app"
        server.secrets += [bad_secret, basic(server.client[0], bad_secret)]
        bad_client = httpx.post(
            f"{issuer}/token",
            data={"grant_type": "password", "username": "bob", "password": PASSWORD},
            auth=(server.client[0], bad_secret),
        )
        assert bad_client.status_code == 401

        login = {"grant_type": "password", "username": "bob", "scope": "openid profile"}
        first = server.tokens(**login, password=PASSWORD, resource=issuer)
        server.tokens(grant_type="refresh_token", refresh_token=first["refresh_token"])

        assert httpx.post(f"{issuer}{RESET_PATH}", json={"email": email}).status_code == 202
        [_, letter] = server.mailbox.wait_for(2, to=email)
        reset = token(letter, RESET_PATH)
        server.secrets.append(reset)
        assert httpx.get(link(letter)).status_code == 200
        reset_to = "maple syrup on the moon"
        server.secrets.append(reset_to)
        confirmed = httpx.post(
            f"{issuer}{RESET_PATH}/confirm", json={"token": reset, "new_password": reset_to}
        )
        assert confirmed.json() == {"status": "password_reset"}

        signed_in = server.tokens(**login, password=reset_to, resource=issuer)
        changed_to = "a quiet lake at dawn, twice"
        server.secrets.append(changed_to)
        changed = httpx.post(
            f"{issuer}/accounts/password/change",
            json={"current_password": reset_to, "new_password": changed_to},
            headers={"Authorization": f"Bearer {signed_in['access_token']}"},
        )
        assert changed.json()["status"] == "password_changed", changed.text

        last = server.tokens(**login, password=changed_to, resource=issuer)
        for presented in (last["refresh_token"], last["access_token"]):  # logging out
            revoked = httpx.post(f"{issuer}/revoke", data={"token": presented}, auth=server.client)
            assert revoked.status_code == 200
        again = server.post_token(grant_type="refresh_token", refresh_token=last["refresh_token"])
        assert again.status_code == 400
    records = server.records()
    text = server.log.read_text()

    # The log is there to look through: each step's lines, at DEBUG.
    routes = {r["route"] for r in records if r["logger"] == "authority.access"}
    assert {
        "/token",
        "/accounts/register",
        VERIFY_PATH,
        RESET_PATH,
        f"{RESET_PATH}/confirm",
        "/accounts/password/change",
        "/revoke",
    } <= routes
    messages = "\n".join(r["message"] for r in records)
    for logged in ("registered sub=", "password grant failed", "client authentication failed"):
        assert logged in messages
    assert "password reset sub=" in messages and "password changed sub=" in messages
    assert "session revoked" in messages and "access token revoked" in messages
    for secret in server.secrets:
        for written in {secret, quote(secret), quote_plus(secret), json.dumps(secret)[1:-1]}:
            assert written not in text, f"{secret[:12]}... is in the log"


def test_text_stays_the_human_readable_log_with_uvicorn_s_access_line(
    sqlite_url: str, tmp_path: Path
) -> None:
    with running(tmp_path, sqlite_url) as server:
        answer = httpx.get(f"{server.issuer}/healthz", headers={"X-Request-ID": "text-1"})
        assert answer.headers["x-request-id"] == "text-1"
    lines = server.log.read_text().splitlines()

    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO authority: issuer http://\S+; created: .+",
        lines[0],
    ), lines[0]
    assert any(re.fullmatch(r"INFO: +Started server process \[\d+\]", line) for line in lines)
    # uvicorn's access line, one per request, and not the app's JSON one.
    access = [line for line in lines if '"GET /healthz HTTP/1.1" 200' in line]
    assert len(access) == 1, lines
    assert re.fullmatch(r'INFO: +127\.0\.0\.1:\d+ - "GET /healthz HTTP/1\.1" 200 OK', access[0])
    assert not [line for line in lines if line.startswith("{")]
