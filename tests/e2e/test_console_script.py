"""The installed console script, provisioned through its CLI, serving over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.e2e.raw_http import sqlite_url
from tests.e2e.servers import (
    USER_PASSWORD,
    cli,
    environment,
    free_port,
    serve,
    wait_for,
    web_app_and_alice,
)

__all__ = ["sqlite_url"]  # a fixture
pytestmark = pytest.mark.e2e
API = "https://api.example"
Server = tuple[dict[str, str], str]  # the environment it runs in, its issuer


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = environment(database_url, tmp_path / "keys", issuer, AUTHORITY_CLIENT_CACHE_TTL="1")
    with serve(env, port, log=tmp_path / "serve.log"):
        yield env, issuer


def test_every_grant_over_http_verifies_with_an_independent_jwt_library(server: Server) -> None:
    env, issuer = server
    service = cli(
        env,
        "clients",
        "create",
        "svc",
        "--grant",
        "client_credentials",
        "--scope",
        "read write",
        "--audience",
        API,
    )
    (app_id, app_secret), user = web_app_and_alice(env)

    metadata = httpx.get(f"{issuer}/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == issuer
    token_url = metadata["token_endpoint"]
    jwks = jwt.PyJWKClient(metadata["jwks_uri"], cache_keys=True)

    def verify(token: str, audience: str) -> dict[str, Any]:
        key = jwks.get_signing_key_from_jwt(token)
        header = jwt.get_unverified_header(token)
        assert header["typ"] == "at+jwt"
        return jwt.decode(token, key.key, algorithms=["ES256"], audience=audience, issuer=issuer)

    cc = httpx.post(
        token_url,
        data={"grant_type": "client_credentials", "scope": "read"},
        auth=(service["client_id"], service["client_secret"]),
    )
    assert cc.status_code == 200, cc.text
    assert cc.headers["cache-control"] == "no-store"
    assert "refresh_token" not in cc.json()
    claims = verify(cc.json()["access_token"], API)
    assert claims["sub"] == service["client_id"] and claims["scope"] == "read"

    pw = httpx.post(
        token_url,
        data={
            "grant_type": "password",
            "username": "alice",
            "password": USER_PASSWORD,
            "client_id": app_id,
            "client_secret": app_secret,
        },
    )
    assert pw.status_code == 200, pw.text
    claims = verify(pw.json()["access_token"], issuer)
    assert claims["sub"] == user["sub"] and "auth_time" in claims

    rt = httpx.post(
        token_url,
        data={"grant_type": "refresh_token", "refresh_token": pw.json()["refresh_token"]},
        auth=(app_id, app_secret),
    )
    assert rt.status_code == 200, rt.text
    assert rt.json()["refresh_token"] != pw.json()["refresh_token"]
    assert verify(rt.json()["access_token"], issuer)["sub"] == user["sub"]
    again = httpx.post(
        token_url,
        data={"grant_type": "refresh_token", "refresh_token": rt.json()["refresh_token"]},
        auth=(app_id, app_secret),
    )
    assert again.status_code == 200, again.text

    # Its successor used, the first refresh token is no retry but a reuse.
    replay = httpx.post(
        token_url,
        data={"grant_type": "refresh_token", "refresh_token": pw.json()["refresh_token"]},
        auth=(app_id, app_secret),
    )
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


def test_a_disabled_client_is_refused_by_the_running_server(server: Server) -> None:
    env, issuer = server
    service = cli(
        env, "clients", "create", "svc", "--grant", "client_credentials", "--scope", "read"
    )
    auth = (service["client_id"], service["client_secret"])
    data = {"grant_type": "client_credentials"}
    assert httpx.post(f"{issuer}/token", data=data, auth=auth).status_code == 200
    cli(env, "clients", "disable", service["client_id"])
    # The server is told of the change (tests/e2e/test_propagation.py holds it to a second)
    # and caches a client for AUTHORITY_CLIENT_CACHE_TTL at most. Here: the refusal comes, and
    # with the exact answer; the deadline only catches a server that never sees the change.
    wait_for(lambda: httpx.post(f"{issuer}/token", data=data, auth=auth).status_code != 200, 30)
    answer = httpx.post(f"{issuer}/token", data=data, auth=auth)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Basic ")
    assert answer.json() == {
        "error": "invalid_client",
        "error_description": "client authentication failed",
    }


def test_serve_without_an_issuer_gives_every_worker_the_one_it_picked(
    sqlite_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = environment(sqlite_url, tmp_path / "keys", "unused")
    del env["AUTHORITY_ISSUER"]  # serve picks http://localhost:PORT from its options
    with serve(env, port, "--workers", "2"):
        # A new connection each, which either worker may accept.
        issuers = {
            httpx.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration").json()["issuer"]
            for _ in range(20)
        }
    assert issuers == {f"http://localhost:{port}"}
