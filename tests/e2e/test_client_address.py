"""The address failed logins are counted under, over real HTTP: the TCP peer, or the last hop
of AUTHORITY_TRUSTED_PROXY_HEADER when that is configured.

The answer of a throttled login is the answer of a wrong password, so the tests read the
address from the server's log line of a throttled login.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import cli, environment, free_port, serve

pytestmark = pytest.mark.e2e
BAD_LOGIN = {"error": "invalid_grant", "error_description": "invalid username or password"}


@dataclass
class Server:
    issuer: str
    log: Path
    client: tuple[str, str]

    def fail_login(self, username: str, forwarded: list[str]) -> None:
        """A wrong password for ``username``, each of ``forwarded`` one X-Forwarded-For line."""
        headers = [("X-Forwarded-For", value) for value in forwarded]
        data = {"grant_type": "password", "username": username, "password": "wrong guess"}
        response = httpx.post(f"{self.issuer}/token", data=data, auth=self.client, headers=headers)
        assert (response.status_code, response.json()) == (400, BAD_LOGIN)

    def throttled(self, username: str) -> str | None:
        """The address the log line of a throttled login for ``username`` names, if any."""
        for line in self.log.read_text().splitlines():
            if "password grant throttled" in line and f"username={username!r}" in line:
                return line.rsplit(" ip=", 1)[1]
        return None


def _server(database_url: str, tmp_path: Path, **extra: str) -> Iterator[Server]:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    # Two failures lock an address; each test guesses a new username every time, so only
    # the per-address count can lock.
    env = environment(
        database_url, tmp_path / "keys", issuer, AUTHORITY_LOGIN_MAX_FAILURES_PER_IP="2", **extra
    )
    log = tmp_path / "serve.log"
    with serve(env, port, log=log):
        app = cli(env, "clients", "create", "web", "--grant", "password", "--scope", "read")
        yield Server(issuer, log, (app["client_id"], app["client_secret"]))


@pytest.fixture
def direct(database_url: str, tmp_path: Path) -> Iterator[Server]:
    yield from _server(database_url, tmp_path)


@pytest.fixture
def proxied(database_url: str, tmp_path: Path) -> Iterator[Server]:
    yield from _server(database_url, tmp_path, AUTHORITY_TRUSTED_PROXY_HEADER="X-Forwarded-For")


def test_without_a_trusted_proxy_header_x_forwarded_for_is_ignored(direct: Server) -> None:
    direct.fail_login("user-1", ["203.0.113.9"])
    direct.fail_login("user-2", ["203.0.113.9"])
    # Another forged address does not escape the lockout: the count is the TCP peer's.
    direct.fail_login("user-3", ["198.51.100.7"])
    assert direct.throttled("user-3") == "127.0.0.1"


def test_the_last_hop_of_the_last_header_line_is_the_client(proxied: Server) -> None:
    # HAProxy's `option forwardfor` appends a line of its own after what the client sent.
    proxied.fail_login("user-1", ["10.0.0.1", "203.0.113.9"])
    proxied.fail_login("user-2", ["10.0.0.2, 10.0.0.3", "198.51.100.1, 203.0.113.9"])
    proxied.fail_login("user-3", ["10.0.0.4", "203.0.113.9"])
    assert proxied.throttled("user-3") == "203.0.113.9"
    # A client-supplied line does not make another address out of the same client.
    proxied.fail_login("user-4", ["203.0.113.9", "198.51.100.7"])
    assert proxied.throttled("user-4") is None
