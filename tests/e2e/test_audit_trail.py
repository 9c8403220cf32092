"""The audit trail of a running server, read with the installed console script: sign-ins over
real HTTP are in it within a second, with their request id, and so are the operator's own
changes; nothing queued is lost when the server stops."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from authority.storage import AuditQuery
from authority.storage.sql import SqlStorage
from tests.e2e.servers import USER_PASSWORD, cli, environment, free_port, serve, wait_for

pytestmark = pytest.mark.e2e


def _events(env: dict[str, str], *flags: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = cli(env, "audit", "list", *flags)["events"]
    return found


def test_sign_ins_and_changes_are_in_the_trail_and_a_stop_loses_nothing(
    module_database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = environment(module_database_url, tmp_path / "keys", issuer, LOGNAME="ops-e2e")
    with serve(env, port, log=tmp_path / "serve.log") as server:
        app = cli(
            env, "clients", "create", "app", "--grant", "password", "--scope", "read",
        )  # fmt: skip
        alice = cli(env, "users", "create", "alice", "--password-stdin", stdin=USER_PASSWORD)
        auth = (app["client_id"], app["client_secret"])
        token = f"{issuer}/token"
        form = {"grant_type": "password", "username": "alice", "password": USER_PASSWORD}
        ok = httpx.post(token, data=form, auth=auth, headers={"X-Request-ID": "e2e-login-1"})
        assert ok.status_code == 200

        # Read from the database itself: a console script alone takes longer than a second.
        storage = SqlStorage.from_url(module_database_url)
        try:
            login_type = AuditQuery(types=("login.succeeded",))
            wait_for(lambda: bool(storage.audit_events(login_type, 1)), 1.0)
        finally:
            storage.close()
        [login] = _events(env, "--type", "login.succeeded")
        assert (login["subject"], login["client_id"]) == (alice["sub"], app["client_id"])
        assert (login["request_id"], login["ip"]) == ("e2e-login-1", "127.0.0.1")
        assert login["user_agent"].startswith("python-httpx/")

        # The last failures, then a graceful stop at once: the shutdown writes them.
        for n in range(3):
            bad = {**form, "password": f"wrong {n}"}
            assert httpx.post(token, data=bad, auth=auth).status_code == 400
        server.send_signal(signal.SIGTERM)
        # uvicorn shuts down, then ends by the signal it caught, as an unhandled one would.
        assert server.wait(timeout=15) in (0, -signal.SIGTERM)

    failed = _events(env, "--type", "login.failed", "--user", "alice")
    assert len(failed) == 3
    changes = [e for e in _events(env, "--since", "1h") if e["actor_kind"] == "operator"]
    assert [(e["type"], e["actor"]) for e in changes] == [
        ("user.created", "ops-e2e"),
        ("client.created", "ops-e2e"),
    ]
    for event in _events(env):
        assert USER_PASSWORD not in str(event) and app["client_secret"] not in str(event)
