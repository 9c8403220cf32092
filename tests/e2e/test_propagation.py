"""Changes reach every running replica within a second of the command that made them: two
``authority serve`` processes on one PostgreSQL database (LISTEN/NOTIFY), or on one SQLite
file (a polled change counter). Their periodic reload and client cache are set to five
minutes, so nothing here can pass by waiting for them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.e2e.servers import (
    USER_PASSWORD,
    cli,
    environment,
    free_port,
    serve,
    terminate_listener,
)

pytestmark = pytest.mark.e2e
WITHIN = 1.0  # seconds from the command's return until every replica shows the change
SLOW = {"AUTHORITY_KEY_RELOAD_SECONDS": "300", "AUTHORITY_CLIENT_CACHE_TTL": "300"}
CLIENT_CREDENTIALS = {"grant_type": "client_credentials"}
ROTATIONS = 3


def until(condition: Callable[[], bool], seconds: float) -> float:
    """Poll ``condition`` (tightly: this measures) until it holds; returns how long it took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        time.sleep(0.005)
    return time.monotonic() - started


@dataclass
class Replicas:
    env: dict[str, str]
    urls: list[str]
    logs: list[Path]
    pids: list[int]
    service: tuple[str, str]  # client_credentials

    def token(self, url: str, auth: tuple[str, str] | None = None) -> httpx.Response:
        return httpx.post(f"{url}/token", data=CLIENT_CREDENTIALS, auth=auth or self.service)

    def kids(self, each: int = 1) -> set[str]:
        """The kids the replicas sign with now (asked ``each`` times, for their workers)."""
        found = set()
        for url in self.urls * each:
            response = self.token(url)
            assert response.status_code == 200, response.text
            found.add(jwt.get_unverified_header(response.json()["access_token"])["kid"])
        return found

    def statuses(self, auth: tuple[str, str] | None = None) -> set[int]:
        return {self.token(url, auth).status_code for url in self.urls}


def signing_with(running: Replicas, kid: str, each: int = 1) -> Callable[[], bool]:
    return lambda: running.kids(each) == {kid}


@contextmanager
def replicas(
    database_url: str,
    tmp_path: Path,
    count: int = 2,
    extra: dict[str, str] | None = None,
    workers: int = 1,
) -> Iterator[Replicas]:
    issuer = "http://localhost:8000"  # one issuer behind a load balancer
    env = environment(database_url, tmp_path / "keys", issuer, **{**SLOW, **(extra or {})})
    cli(env, "init")
    svc = cli(env, "clients", "create", "svc", "--grant", "client_credentials")
    ports = [free_port() for _ in range(count)]
    logs = [tmp_path / f"replica-{i}.log" for i in range(count)]
    with ExitStack() as stack:
        procs = [
            stack.enter_context(serve(env, p, "--workers", str(workers), log=log))
            for p, log in zip(ports, logs, strict=True)
        ]
        running = Replicas(
            env,
            [f"http://127.0.0.1:{p}" for p in ports],
            logs,
            [proc.pid for proc in procs],
            (svc["client_id"], svc["client_secret"]),
        )
        assert running.statuses() == {200}  # the client is cached by every replica from here
        yield running


@pytest.mark.parametrize("workers", [1, 2], ids=["two-processes", "two-processes-of-two-workers"])
def test_a_rotation_is_signed_with_by_every_replica_within_a_second(
    database_url: str, tmp_path: Path, workers: int
) -> None:
    with replicas(database_url, tmp_path, workers=workers) as running:
        for _ in range(ROTATIONS):  # the figures over more of them: bench/propagation.py
            [report] = cli(running.env, "keys", "rotate", "--alg", "ES256", "--force")["rotations"]
            # With workers, each request goes to whichever accepts it first: ask each server
            # often enough to reach all of them.
            until(signing_with(running, report["activated"], each=5 * workers), WITHIN)


def test_an_emergency_revocation_is_refused_by_every_replica_within_a_second(
    database_url: str, tmp_path: Path
) -> None:
    with replicas(database_url, tmp_path) as running:
        compromised = running.token(running.urls[0]).json()["access_token"]

        [report] = cli(
            running.env, "keys", "rotate", "--now", "--revoke-current", "--alg", "ES256"
        )["rotations"]

        def refused_everywhere() -> bool:
            for url in running.urls:
                asked = httpx.post(
                    f"{url}/introspect", data={"token": compromised}, auth=running.service
                )
                jwks = {k["kid"] for k in httpx.get(f"{url}/jwks.json").json()["keys"]}
                if asked.json() != {"active": False} or report["revoked"] in jwks:
                    return False
            return running.kids() == {report["activated"]}

        until(refused_everywhere, WITHIN)


def test_a_disabled_client_is_refused_by_every_replica_within_a_second(
    database_url: str, tmp_path: Path
) -> None:
    with replicas(database_url, tmp_path) as running:
        client_id = running.service[0]

        cli(running.env, "clients", "disable", client_id)
        until(lambda: running.statuses() == {401}, WITHIN)

        cli(running.env, "clients", "enable", client_id)
        until(lambda: running.statuses() == {200}, WITHIN)

        rotated = cli(running.env, "clients", "rotate-secret", client_id, "--grace", "0")
        until(lambda: running.statuses((client_id, rotated["client_secret"])) == {200}, WITHIN)
        assert running.statuses() == {401}  # the old secret

        cli(running.env, "clients", "delete", client_id)
        until(lambda: running.statuses((client_id, rotated["client_secret"])) == {401}, WITHIN)


def test_a_disabled_user_is_refused_by_every_replica_within_a_second(
    database_url: str, tmp_path: Path
) -> None:
    with replicas(database_url, tmp_path) as running:
        web = cli(running.env, "clients", "create", "web", "--grant", "password", "--scope", "r")
        auth = (web["client_id"], web["client_secret"])
        cli(running.env, "users", "create", "alice", "--password-stdin", stdin=USER_PASSWORD + "\n")
        login = {"grant_type": "password", "username": "alice", "password": USER_PASSWORD}
        signed_in = [httpx.post(f"{u}/token", data=login, auth=auth) for u in running.urls]
        assert {r.status_code for r in signed_in} == {200}
        access = signed_in[0].json()

        cli(running.env, "users", "disable", "alice")

        def refused_everywhere() -> bool:
            for url in running.urls:
                signed_in = httpx.post(f"{url}/token", data=login, auth=auth)
                asked = httpx.post(
                    f"{url}/introspect", data={"token": access["access_token"]}, auth=auth
                )
                if signed_in.status_code != 400 or asked.json() != {"active": False}:
                    return False
            return True

        until(refused_everywhere, WITHIN)


# -- the LISTEN connection -------------------------------------------------------------------


def _lines(log: Path, words: str) -> list[str]:
    return [line for line in log.read_text(errors="replace").splitlines() if words in line]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_lost_listen_connection_is_logged_once_and_reopened_while_the_server_serves(
    database_url: str, tmp_path: Path
) -> None:
    with replicas(database_url, tmp_path, count=1) as running:
        [url], [log], [pid] = running.urls, running.logs, running.pids

        assert terminate_listener(database_url, pid) == 1

        # Meanwhile it serves from what it holds.
        for _ in range(20):
            assert running.token(url).status_code == 200
        until(lambda: bool(_lines(log, "change notifications work again")), 10)
        [lost] = _lines(log, "change notifications lost")
        assert "OperationalError" in lost and "within 300 s" in lost
        assert len(_lines(log, "change notifications work again")) == 1
        assert "Traceback" not in log.read_text()

        # And it is told of changes again.
        [report] = cli(running.env, "keys", "rotate", "--alg", "ES256", "--force")["rotations"]
        until(signing_with(running, report["activated"]), WITHIN)
        cli(running.env, "clients", "disable", running.service[0])
        until(lambda: running.statuses() == {401}, WITHIN)


# -- keys rotate --at-earliest ---------------------------------------------------------------

# A next key may sign 4 s after it was published (JWKS cached 1 s, reload 3 s, no leeway).
SHORT_LEAD = {
    "AUTHORITY_JWKS_MAX_AGE": "1",
    "AUTHORITY_KEY_RELOAD_SECONDS": "3",
    "AUTHORITY_CLOCK_LEEWAY": "0",
}


def test_a_promotion_scheduled_with_at_earliest_is_made_once_when_due(
    database_url: str, tmp_path: Path
) -> None:
    with replicas(database_url, tmp_path, extra=SHORT_LEAD) as running:
        cli(running.env, "keys", "rotate", "--alg", "ES256", "--force")  # a young next key

        answer: dict[str, Any] = cli(
            running.env, "keys", "rotate", "--alg", "ES256", "--at-earliest"
        )
        [scheduled] = answer["scheduled"]
        assert answer["rotations"] == []
        issued: list[dict[str, Any]] = []

        def both_sign_with_it() -> bool:
            for url in running.urls:
                token = running.token(url).json()["access_token"]
                claims = jwt.decode(token, options={"verify_signature": False})
                issued.append({**claims, "kid": jwt.get_unverified_header(token)["kid"]})
            return {t["kid"] for t in issued[-2:]} == {scheduled["kid"]}

        until(both_sign_with_it, scheduled["promote_at"] - time.time() + 2)
        keys = cli(running.env, "keys", "list")["keys"]
    assert all(t["iat"] >= scheduled["promote_at"] for t in issued if t["kid"] == scheduled["kid"])
    states = sorted(k["state"] for k in keys if k["alg"] == "ES256")
    assert states == ["active", "next", "retired", "retired"]  # forced, then scheduled: once
    assert next(k["kid"] for k in keys if k["state"] == "active") == scheduled["kid"]
