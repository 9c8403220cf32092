"""With the login-failure counters in Redis (AUTHORITY_REDIS_URL), a Redis that refuses
connections or stalls makes a password login answer 503 ``temporarily_unavailable``, not
500, logged in one line without a traceback, and logins work again once Redis is back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import cli, environment, free_port, serve
from tests.faults.conftest import MARGIN, PASSWORD, RECOVERY, TIMEOUT, UNAVAILABLE
from tests.faults.proxy import FaultProxy

pytestmark = [pytest.mark.e2e, pytest.mark.timing]  # a 503 within the deadline
REDIS = ("127.0.0.1", 6379)
DATABASE = 14  # 15 belongs to tests/storage/test_throttle.py, which flushes it


@pytest.fixture
def redis_proxy() -> Iterator[FaultProxy]:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(*REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    with FaultProxy(REDIS) as proxy:
        yield proxy


def login(issuer: str, web: tuple[str, str]) -> httpx.Response:
    data = {"grant_type": "password", "username": "alice", "password": PASSWORD}
    return httpx.post(f"{issuer}/token", data=data, auth=web, timeout=TIMEOUT + MARGIN + 5)


def test_a_redis_outage_answers_503_and_logins_recover(
    redis_proxy: FaultProxy, tmp_path: Path
) -> None:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = environment(
        f"sqlite:///{tmp_path / 'authority.db'}",
        tmp_path / "keys",
        issuer,
        AUTHORITY_REDIS_URL=f"redis://{redis_proxy.host}:{redis_proxy.port}/{DATABASE}",
        AUTHORITY_DATABASE_TIMEOUT=str(TIMEOUT),
    )
    log = tmp_path / "serve.log"
    with serve(env, port, log=log):
        made = cli(env, "clients", "create", "web", "--grant", "password", "--scope", "read")
        web = (made["client_id"], made["client_secret"])
        cli(env, "users", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n")
        assert login(issuer, web).status_code == 200
        for fault in ("refused", "stalled"):
            if fault == "refused":
                redis_proxy.cut()
                redis_proxy.refuse()
            else:
                redis_proxy.stall()

            started = time.monotonic()
            answer = login(issuer, web)
            took = time.monotonic() - started
            assert (answer.status_code, answer.json()) == (503, UNAVAILABLE), fault
            assert answer.headers["retry-after"] == "1"
            assert took < TIMEOUT + MARGIN, f"{fault}: took {took:.2f} s"
            assert httpx.get(f"{issuer}/healthz").status_code == 200

            redis_proxy.restore()
            started = time.monotonic()
            while login(issuer, web).status_code != 200:
                assert time.monotonic() - started < RECOVERY, fault
                time.sleep(0.05)

    text = log.read_text()
    assert "Traceback" not in text
    for kind in ("ConnectionError", "Overdue"):
        assert f"temporarily unavailable on POST /token: {kind}" in text, text
