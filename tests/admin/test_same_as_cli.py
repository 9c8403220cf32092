"""The admin API answers what `authority ... --json` prints (less its "database" member): one
use case, one JSON shape, whichever way an operator asks."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from authority.cli import main
from authority.runtime import Authority
from authority.settings import Settings
from tests.admin.conftest import Caller
from tests.conftest import Registered
from tests.http.audit_helpers import trail

Cli = Callable[..., dict[str, Any]]
PASSWORD = "correct horse battery"


@pytest.fixture
def cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Cli:
    """``cli("clients", "list")``: the CLI in-process on the test database, its JSON object."""
    for name in list(os.environ):
        if name.startswith("AUTHORITY_") and not name.startswith("AUTHORITY_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AUTHORITY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("AUTHORITY_KEYS_DIR", str(settings.keys_dir))
    monkeypatch.setenv("AUTHORITY_ID_TOKEN_ALG", settings.id_token_alg)

    def run(*argv: str, stdin: str | None = None) -> dict[str, Any]:
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        capsys.readouterr()
        assert main([*argv, "--json"]) == 0, capsys.readouterr().err
        printed: dict[str, Any] = json.loads(capsys.readouterr().out)
        assert isinstance(printed.pop("database"), str)
        return printed

    return run


def test_clients_users_keys_and_sessions_read_the_same(
    api: Caller, cli: Cli, http: TestClient, app_client: Registered
) -> None:
    cli("users", "create", "bob", "--password-stdin", "--email", "bob@example.com", stdin=PASSWORD)
    form = {"grant_type": "password", "username": "bob", "password": PASSWORD}
    assert http.post("/token", data=form, auth=app_client.basic).status_code == 200

    assert api.ok("GET", "/clients") == cli("clients", "list")
    assert api.ok("GET", f"/clients/{app_client.client_id}") == cli(
        "clients", "show", app_client.client_id
    )
    assert api.ok("GET", "/users?limit=10") == cli("users", "list", "--limit", "10")
    assert api.ok("GET", "/users/bob") == cli("users", "show", "bob")
    assert api.ok("GET", "/users/bob/sessions") == cli("users", "sessions", "bob")
    assert api.ok("GET", "/keys") == cli("keys", "list")


def test_changes_answer_the_same_objects(api: Caller, cli: Cli) -> None:
    by_cli = cli("clients", "create", "a", "--grant", "client_credentials", "--scope", "read")
    body = {"name": "b", "grant_types": ["client_credentials"], "scopes": ["read"]}
    by_api = api.ok("POST", "/clients", body, status=201)
    assert set(by_api) == set(by_cli)

    assert api.ok("POST", f"/clients/{by_api['client_id']}/disable") == cli(
        "clients", "show", by_api["client_id"]
    )
    rotated = api.ok("POST", f"/clients/{by_api['client_id']}/rotate-secret")
    assert set(rotated) == set(cli("clients", "rotate-secret", by_cli["client_id"]))
    assert api.ok("DELETE", f"/clients/{by_api['client_id']}") == {
        **cli("clients", "delete", by_cli["client_id"]),
        "client_id": by_api["client_id"],
    }
    user = api.ok("POST", "/users", {"username": "carol", "password": PASSWORD}, status=201)
    assert user == cli("users", "show", "carol")
    set_by_api = api.ok("POST", "/users/carol/set-password", {"password": PASSWORD + "!"})
    set_by_cli = cli("users", "set-password", "carol", "--password-stdin", stdin=PASSWORD)
    assert set_by_api == set_by_cli
    assert api.ok("DELETE", "/users/carol/sessions") == cli("users", "logout", "carol")


def test_the_audit_trail_reads_the_same(api: Caller, cli: Cli, authority: Authority) -> None:
    cli("users", "create", "bob", "--password-stdin", stdin=PASSWORD)
    api.ok("POST", "/users/bob/disable")
    trail(authority)  # what the server queued is written

    assert api.ok("GET", "/audit") == cli("audit", "list")
    assert api.ok("GET", "/audit?limit=1") == cli("audit", "list", "--limit", "1")
    by_api = api.ok("GET", "/audit?type=user&user=bob&since=1h")
    assert by_api == cli("audit", "list", "--type", "user", "--user", "bob", "--since", "1h")
    assert [e["actor_kind"] for e in by_api["events"]] == ["client", "operator"]
