"""Two ``authority serve`` processes on one database: refresh rotation stays race-safe."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import USER_PASSWORD, environment, free_port, serve, web_app_and_alice

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
def test_concurrent_refreshes_across_two_replicas_have_exactly_one_winner(
    database_url: str, tmp_path: Path, workers: int
):
    ports = [free_port(), free_port()]
    issuer = "http://localhost:8000"  # one issuer behind a load balancer
    env = environment(database_url, tmp_path / "keys", issuer)
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
            assert statuses.count(200) == 1, statuses
            assert statuses.count(400) == RACERS - 1, statuses
            assert {r.json()["error"] for r in responses if r.status_code == 400} == {
                "invalid_grant"
            }
            # The replay revoked the family: the winner's successor is dead too.
            winner = next(r for r in responses if r.status_code == 200)
            after = httpx.post(
                urls[1],
                auth=auth,
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": winner.json()["refresh_token"],
                },
            )
            assert after.status_code == 400
            assert after.json()["error"] == "invalid_grant"
