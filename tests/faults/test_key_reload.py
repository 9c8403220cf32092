"""A server cut off from PostgreSQL stops vouching for its keys within a bound, and recovers."""

from __future__ import annotations

from pathlib import Path

import httpx
import jwt
import pytest

from tests.e2e.servers import cli, environment, free_port, serve, wait_for
from tests.faults.proxy import FaultProxy

pytestmark = pytest.mark.e2e
# Reload every second; clients cached, so client_credentials itself needs no database.
FAST = {
    "AUTHORITY_JWKS_MAX_AGE": "2",
    "AUTHORITY_KEY_RELOAD_SECONDS": "1",
    "AUTHORITY_CLOCK_LEEWAY": "0",
    "AUTHORITY_CLIENT_CACHE_TTL": "300",
}
UNAVAILABLE = {
    "error": "temporarily_unavailable",
    "error_description": "The service is temporarily unavailable; retry shortly.",
}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_server_that_cannot_reload_its_keys_stops_signing_and_signs_the_new_key_once_back(
    database_url: str, proxied_url: str, proxy: FaultProxy, tmp_path: Path
) -> None:
    port = free_port()
    url = issuer = f"http://127.0.0.1:{port}"
    keys_dir = tmp_path / "keys"
    operator = environment(database_url, keys_dir, issuer, **FAST)  # straight to PostgreSQL
    cli(operator, "init")
    svc = cli(operator, "clients", "create", "svc", "--grant", "client_credentials")
    auth = (svc["client_id"], svc["client_secret"])

    def token() -> httpx.Response:
        return httpx.post(f"{url}/token", data={"grant_type": "client_credentials"}, auth=auth)

    server = environment(proxied_url, keys_dir, issuer, **FAST)
    with serve(server, port, log=tmp_path / "serve.log"):
        compromised = token().json()["access_token"]  # the client is cached from here on
        proxy.refuse()
        proxy.cut()
        [report] = cli(operator, "keys", "rotate", "--now", "--revoke-current", "--alg", "ES256")[
            "rotations"
        ]
        # The server cannot learn of the revocation; within two reload periods of its last
        # reload it stops signing with what it has (and stops vouching at /introspect).
        wait_for(lambda: token().status_code == 503, 6)
        assert token().json() == UNAVAILABLE
        assert httpx.get(f"{url}/jwks.json").status_code == 200

        proxy.restore()
        recovered = wait_for(lambda: token().status_code == 200, 10)
        kid = jwt.get_unverified_header(token().json()["access_token"])["kid"]
        asked = httpx.post(f"{url}/introspect", data={"token": compromised}, auth=auth)
    assert kid == report["activated"]
    assert asked.json() == {"active": False}
    assert recovered < 2.5  # a failed reload is retried every second
