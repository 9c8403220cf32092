"""/metrics over real HTTP against ``authority serve``: the token on the server's port, the
metrics port beside it (nothing else there), two workers whose counts add up, a worker's
death that loses no count, and the starts refused."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict

from authority.observe.workers import FOLDER_PREFIX
from tests.e2e.servers import AUTHORITY, cli, environment, free_port, serve, wait_for
from tests.metrics_helpers import BEARER, METRICS_TOKEN, Samples, parse, value

pytestmark = pytest.mark.e2e
TOKENS = "authority_tokens_issued_total"
REQUESTS = "authority_http_requests_total"
CC = {"grant_type": "client_credentials"}
COUNT = 120


def service(env: dict[str, str]) -> tuple[str, str]:
    made = cli(env, "clients", "create", "svc", "--grant", "client_credentials", "--scope", "read")
    return made["client_id"], made["client_secret"]


def scrape(url: str, headers: dict[str, str] | None = None) -> Samples:
    response = httpx.get(url, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return parse(response.text)


def issue(port: int, auth: tuple[str, str], count: int) -> None:
    """``count`` token requests, each on a connection of its own (so that every worker
    accepts some), eight at a time."""

    def one(_: int) -> int:
        url = f"http://127.0.0.1:{port}/token"
        return httpx.post(url, data=CC, auth=auth, headers={"Connection": "close"}).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(count))) == {200}


def per_worker(folder: Path, name: str) -> dict[int, float]:
    """A counter's value in each worker's own file of the shared folder, by process id."""
    found: dict[int, float] = {}
    for path in folder.glob("counter_*.db"):
        pid = int(path.stem.removeprefix("counter_"))
        entries = MmapedDict.read_all_values_from_file(str(path))  # type: ignore[no-untyped-call]
        for key, number, *_ in entries:
            if json.loads(key)[1] == name:
                found[pid] = found.get(pid, 0.0) + number
    return found


def workers_of(supervisor: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(supervisor)], capture_output=True, text=True)
    pids = [int(p) for p in out.stdout.split()]
    return [p for p in pids if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]


def test_two_workers_report_the_sum_of_their_counts_and_keep_a_dead_ones(
    database_url: str, tmp_path: Path
) -> None:
    port, metrics_port = free_port(), free_port()
    env = environment(
        database_url,
        tmp_path / "keys",
        f"http://127.0.0.1:{port}",
        AUTHORITY_METRICS="on",
        AUTHORITY_METRICS_TOKEN=METRICS_TOKEN,
        AUTHORITY_METRICS_PORT=str(metrics_port),
    )
    cli(env, "init")
    auth = service(env)
    with serve(env, port, "--workers", "2", log=tmp_path / "serve.log") as proc:
        wait_for(lambda: len(workers_of(proc.pid)) == 2, 30)
        [folder] = Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}{proc.pid}-*")
        assert (folder.stat().st_mode & 0o777) == 0o700
        issue(port, auth, COUNT)
        counted = per_worker(folder, TOKENS)
        assert len(counted) == 2 and all(counted.values()), counted  # both served some
        assert sum(counted.values()) == COUNT
        # Whichever worker answers, on either way in, reports the sum.
        for _ in range(6):
            for url, headers in (
                (f"http://127.0.0.1:{port}/metrics", BEARER),
                (f"http://127.0.0.1:{metrics_port}/metrics", None),
            ):
                samples = scrape(url, headers)
                who = {"grant_type": "client_credentials", "client_id": auth[0]}
                assert value(samples, TOKENS, **who) == COUNT
                posted = value(samples, REQUESTS, route="token", method="POST", status="200")
                assert posted == COUNT

        # A worker killed: its counts stay, its gauges leave the sums, a new one takes over.
        victim = max(counted, key=lambda pid: counted[pid])
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: not (folder / f"gauge_livesum_{victim}.db").exists(), 20)
        wait_for(lambda: len(set(workers_of(proc.pid)) - {victim}) == 2, 30)
        issue(port, auth, 10)
        samples = scrape(f"http://127.0.0.1:{metrics_port}/metrics")
        assert value(samples, TOKENS, **who) == COUNT + 10
    assert not folder.exists()  # removed when the server stops


def test_the_metrics_port_answers_metrics_alone_and_the_token_guards_the_main_port(
    database_url: str, tmp_path: Path
) -> None:
    port, metrics_port = free_port(), free_port()
    env = environment(
        database_url,
        tmp_path / "keys",
        f"http://127.0.0.1:{port}",
        AUTHORITY_METRICS="on",
        AUTHORITY_METRICS_TOKEN=METRICS_TOKEN,
        AUTHORITY_METRICS_PORT=str(metrics_port),
    )
    cli(env, "init")
    auth = service(env)
    main, side = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}"
    with serve(env, port, log=tmp_path / "serve.log"):
        issue(port, auth, 3)
        samples = scrape(f"{side}/metrics")
        assert value(samples, TOKENS, grant_type="client_credentials", client_id=auth[0]) == 3
        for path in ("/token", "/jwks.json", "/.well-known/openid-configuration", "/readyz"):
            assert httpx.get(side + path).status_code == 404, path
        token = httpx.post(f"{side}/token", data=CC, auth=auth)
        assert token.status_code == 404 and "access_token" not in token.text

        missing = httpx.get(f"{main}/metrics")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == 'Bearer realm="authority"'
        wrong = httpx.get(f"{main}/metrics", headers={"Authorization": "Bearer " + "x" * 30})
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"].startswith('Bearer realm="authority", error=')
        samples = scrape(f"{main}/metrics", BEARER)
        assert value(samples, REQUESTS, route="token", method="POST", status="200") == 3


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({}, "AUTHORITY_METRICS=on needs AUTHORITY_METRICS_TOKEN"),
        ({"AUTHORITY_METRICS_PORT": "{port}"}, "AUTHORITY_METRICS_PORT={port} is the server's own"),
    ],
    ids=["neither-token-nor-port", "the-servers-own-port"],
)
def test_serve_refuses_to_start_in_one_line(
    tmp_path: Path, extra: dict[str, str], says: str
) -> None:
    port = free_port()
    extra = {name: given.format(port=port) for name, given in extra.items()}
    env = environment(
        f"sqlite:///{tmp_path / 'a.db'}",
        tmp_path / "keys",
        f"http://127.0.0.1:{port}",
        AUTHORITY_METRICS="on",
        **extra,
    )
    done = subprocess.run(
        [AUTHORITY, "serve", "--port", str(port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("authority: " + says.format(port=port)), line
    assert not (tmp_path / "a.db").exists()  # refused before anything was made


def test_serve_says_so_in_one_line_when_the_metrics_port_is_taken(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        env = environment(
            f"sqlite:///{tmp_path / 'a.db'}",
            tmp_path / "keys",
            f"http://127.0.0.1:{port}",
            AUTHORITY_METRICS="on",
            AUTHORITY_METRICS_PORT=str(busy),
        )
        done = subprocess.run(
            [AUTHORITY, "serve", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    [line] = [ln for ln in done.stderr.splitlines() if ln.startswith("authority: ")]
    assert line.startswith(f"authority: AUTHORITY_METRICS_PORT={busy}: cannot listen on 127.0.0.1")
