"""A server that loses its LISTEN connection keeps serving, says so in one line, listens again
once PostgreSQL is back, and then reloads what it may have missed meanwhile."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import jwt
import pytest

from authority.storage.changes import RETRY_MAX
from tests.e2e.servers import cli, environment, free_port, serve, terminate_listener, wait_for
from tests.faults.proxy import FaultProxy

pytestmark = pytest.mark.e2e
# Nothing but the watch can make this server see a change: reload and cache take 5 minutes.
SLOW = {"AUTHORITY_KEY_RELOAD_SECONDS": "300", "AUTHORITY_CLIENT_CACHE_TTL": "300"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_change_made_while_the_listen_connection_was_down_is_applied_once_it_is_back(
    database_url: str, proxied_url: str, proxy: FaultProxy, tmp_path: Path
) -> None:
    port = free_port()
    url = issuer = f"http://127.0.0.1:{port}"
    keys_dir = tmp_path / "keys"
    operator = environment(database_url, keys_dir, issuer, **SLOW)  # straight to PostgreSQL
    cli(operator, "init")
    svc = cli(operator, "clients", "create", "svc", "--grant", "client_credentials")
    auth = (svc["client_id"], svc["client_secret"])

    def kid() -> str:
        response = httpx.post(f"{url}/token", data={"grant_type": "client_credentials"}, auth=auth)
        assert response.status_code == 200, response.text
        return str(jwt.get_unverified_header(response.json()["access_token"])["kid"])

    log = tmp_path / "serve.log"
    with serve(environment(proxied_url, keys_dir, issuer, **SLOW), port, log=log) as server:
        before = kid()  # the client is cached from here on
        proxy.refuse()  # PostgreSQL restarting: no connection can be opened again yet
        assert terminate_listener(database_url, server.pid) == 1
        wait_for(lambda: "change notifications lost" in log.read_text(), 5)
        [report] = cli(operator, "keys", "rotate", "--alg", "ES256", "--force")["rotations"]
        time.sleep(2)  # a few attempts to listen again fail, unlogged
        assert kid() == before  # it serves from what it holds, and cannot know better

        proxy.restore()
        waited = wait_for(lambda: kid() == report["activated"], RETRY_MAX + 2)
    text = log.read_text()
    assert text.count("change notifications lost") == 1
    assert text.count("change notifications work again") == 1
    assert "Traceback" not in text
    assert waited < RETRY_MAX + 1  # the back-off is capped
