"""A refresh racing the end of its session, over real HTTP against ``authority serve``: once
the revocation or logout has answered, no access token of that session is active."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import USER_PASSWORD, cli, environment, free_port, serve, web_app_and_alice

pytestmark = pytest.mark.e2e
ROUNDS = 150


@dataclass(frozen=True)
class Server:
    url: str
    auth: tuple[str, str]


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = environment(database_url, tmp_path / "keys", url)
    cli(env, "init")
    auth, _ = web_app_and_alice(env)
    with serve(env, port, log=tmp_path / "serve.log"):
        yield Server(url, auth)


async def _active(client: httpx.AsyncClient, server: Server, token: str) -> bool:
    response = await client.post(f"{server.url}/introspect", data={"token": token})
    assert response.status_code == 200, response.text
    return bool(response.json()["active"])


async def _rounds(server: Server, ending: str) -> list[str]:
    """Race a refresh against a revocation (or a logout) ``ROUNDS`` times; returns what went
    wrong, one line per round."""
    problems = []
    async with httpx.AsyncClient(auth=server.auth, timeout=30) as client:
        for _ in range(ROUNDS):
            login = await client.post(
                f"{server.url}/token",
                data={"grant_type": "password", "username": "alice", "password": USER_PASSWORD},
            )
            assert login.status_code == 200, login.text
            access, refresh = login.json()["access_token"], login.json()["refresh_token"]
            rotation = client.post(
                f"{server.url}/token",
                data={"grant_type": "refresh_token", "refresh_token": refresh},
            )
            if ending == "revoke":
                end = client.post(f"{server.url}/revoke", data={"token": refresh})
            else:
                end = client.request(
                    "DELETE",
                    f"{server.url}/sessions",
                    headers={"Authorization": f"Bearer {access}"},
                    auth=None,
                )
            refreshed, ended = await asyncio.gather(rotation, end)

            assert ended.status_code in (200, 204), ended.text
            assert refreshed.status_code in (200, 400), refreshed.text
            issued = [access]
            if refreshed.status_code == 200:
                issued.append(refreshed.json()["access_token"])
            else:
                assert refreshed.json()["error"] == "invalid_grant"
            for token in issued:
                if await _active(client, server, token):
                    problems.append(f"{refreshed.status_code}: an access token stayed active")
    return problems


@pytest.mark.parametrize("ending", ["revoke", "logout"])
def test_no_access_token_of_a_session_stays_active_after_it_ended_mid_refresh(
    server: Server, ending: str
) -> None:
    problems = asyncio.run(_rounds(server, ending))

    assert problems == [], f"{len(problems)} of {ROUNDS} rounds"
