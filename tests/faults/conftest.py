"""Fault tests talk to PostgreSQL through a FaultProxy: one per test, on a schema of its own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import empty_postgres
from tests.e2e.servers import cli, environment, free_port, serve
from tests.faults.proxy import FaultProxy


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[FaultProxy]:
    parts = urlsplit(postgres_url)
    with FaultProxy((parts.hostname or "127.0.0.1", parts.port or 5432)) as proxy:
        yield proxy


@pytest.fixture
def proxied_url(postgres_url: str, proxy: FaultProxy) -> str:
    """The test schema's URL, through the proxy."""
    parts = urlsplit(postgres_url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"{proxy.host}:{proxy.port}"
    netloc_via = f"{netloc[0]}@{host}" if len(netloc) == 2 else host
    return urlunsplit(parts._replace(netloc=netloc_via))


# The AUTHORITY_DATABASE_TIMEOUT of the servers these tests start: small, to keep them short.
TIMEOUT = 1
# A request the database cannot serve answers 503 within the timeout plus this margin (for
# the request's own way over loopback, and a busy machine).
MARGIN = 1.5
# Once the database is back, everything answers again within this many seconds.
RECOVERY = 2.0
UNAVAILABLE = {
    "error": "temporarily_unavailable",
    "error_description": "The service is temporarily unavailable; retry shortly.",
}
PASSWORD = "correct horse battery"


@dataclass
class Live:
    """A real ``authority serve`` whose database traffic goes through ``proxy``."""

    issuer: str
    env: dict[str, str]
    log: Path
    proxy: FaultProxy
    service: tuple[str, str]  # client_credentials, scope read
    web: tuple[str, str]  # password + refresh_token, scope "openid read"
    cold: tuple[str, str]  # a client_credentials client no request has used yet

    def url(self, path: str) -> str:
        return self.issuer + path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def live(postgres_url: str, proxied_url: str, proxy: FaultProxy, tmp_path: Path) -> Iterator[Live]:
    empty_postgres(postgres_url)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = environment(
        proxied_url, tmp_path / "keys", issuer, AUTHORITY_DATABASE_TIMEOUT=str(TIMEOUT)
    )
    log = tmp_path / "serve.log"
    with serve(env, port, log=log):

        def client(name: str, scope: str, *grants: str) -> tuple[str, str]:
            args = [arg for grant in grants for arg in ("--grant", grant)]
            made = cli(env, "clients", "create", name, *args, "--scope", scope)
            return made["client_id"], made["client_secret"]

        service = client("service", "read", "client_credentials")
        web = client("web", "openid read", "password", "refresh_token")
        cold = client("cold", "read", "client_credentials")
        cli(
            env,
            "users",
            "create",
            "alice",
            "--email",
            "alice@example.com",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        yield Live(issuer, env, log, proxy, service, web, cold)
        proxy.restore()
