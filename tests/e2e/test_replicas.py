"""Two ``authority serve`` processes on one database: refresh rotation stays race-safe."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import USER_PASSWORD, cli, environment, free_port, serve, web_app_and_alice

pytestmark = pytest.mark.e2e
RACERS = 50
ROUNDS = 20


async def _race(urls: list[str], auth: tuple[str, str], refresh_token: str) -> list[httpx.Response]:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    limits = httpx.Limits(max_connections=RACERS)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        calls = [client.post(urls[i % len(urls)], data=data, auth=auth) for i in range(RACERS)]
        return list(await asyncio.gather(*calls))


@pytest.mark.parametrize("workers", [1, 2], ids=["two-processes", "two-processes-of-two-workers"])
def test_concurrent_refreshes_across_two_replicas_leave_at_most_one_live_token(
    database_url: str, tmp_path: Path, workers: int
) -> None:
    ports = [free_port(), free_port()]
    issuer = "http://localhost:8000"  # one issuer behind a load balancer
    env = environment(database_url, tmp_path / "keys", issuer)
    cli(env, "init")
    auth, _ = web_app_and_alice(env)
    urls = [f"http://127.0.0.1:{p}/token" for p in ports]

    extra = ("--workers", str(workers))
    with (
        serve(env, ports[0], *extra, log=tmp_path / "a.log"),
        serve(env, ports[1], *extra, log=tmp_path / "b.log"),
    ):
        for _ in range(ROUNDS):
            login = httpx.post(
                urls[0],
                auth=auth,
                data={
                    "grant_type": "password",
                    "username": "alice",
                    "password": USER_PASSWORD,
                },
            )
            assert login.status_code == 200, login.text
            responses = asyncio.run(_race(urls, auth, login.json()["refresh_token"]))

            statuses = sorted(r.status_code for r in responses)
            assert set(statuses) <= {200, 400}, statuses
            assert 200 in statuses, statuses
            assert {r.json()["error"] for r in responses if r.status_code == 400} <= {
                "invalid_grant"
            }
            # The first use wins; a racing use that finds it done inside the reuse window may
            # take the winner's place (as a client's retry would), one at a time, and every
            # other is a reuse that ends the session. Either way at most one of the tokens
            # handed out is still alive.
            winners = [r.json() for r in responses if r.status_code == 200]
            for kind in ("refresh_token", "access_token"):
                alive = [w[kind] for w in winners if _active(urls[1], auth, w[kind])]
                assert len(alive) <= 1, (kind, len(winners))


def _active(token_url: str, auth: tuple[str, str], token: str) -> bool:
    url = token_url.replace("/token", "/introspect")
    response = httpx.post(url, auth=auth, data={"token": token})
    assert response.status_code == 200, response.text
    return bool(response.json()["active"])
