"""Real ``authority`` console-script processes under uvicorn, for end-to-end tests."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from authority.storage.engine import make_engine

BIN = Path(sys.executable).parent
AUTHORITY = shutil.which("authority", path=str(BIN)) or str(BIN / "authority")
ROOT = Path(__file__).resolve().parents[2]  # the examples are imported from here


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(database_url: str, keys_dir: Path, issuer: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHORITY_")}
    env.update(
        AUTHORITY_DATABASE_URL=database_url,
        AUTHORITY_KEYS_DIR=str(keys_dir),
        AUTHORITY_ISSUER=issuer,
        AUTHORITY_ARGON2_TIME_COST="1",
        AUTHORITY_ARGON2_MEMORY_COST="1024",
        # One signing algorithm, as the rotation tests count keys (and RSA keys are slow).
        AUTHORITY_ID_TOKEN_ALG="ES256",
        AUTHORITY_LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> dict[str, Any]:
    """Run the installed console script with --json and return its one JSON object, less
    the "database" member (the masked database URL) every command's object must have."""
    done = subprocess.run(
        [AUTHORITY, *args, "--json"],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = dict(json.loads(done.stdout))
    assert isinstance(answer.pop("database", None), str), done.stdout
    return answer


def wait_for(condition: Callable[[], bool], seconds: float) -> float:
    """Poll until ``condition`` holds; returns how long that took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        time.sleep(0.1)
    return time.monotonic() - started


@contextmanager
def serve(
    env: dict[str, str],
    port: int,
    *extra: str,
    log: Path | None = None,
    wrapper: Sequence[str] = (),
) -> Iterator[subprocess.Popen[bytes]]:
    """``authority serve`` in its own process group; yields once /readyz answers 200.
    ``wrapper`` is a command that runs it (and must exec it, to keep its process id)."""
    command = [*wrapper, AUTHORITY, "serve", "--port", str(port), *extra]
    with _running("authority serve", command, env, f"http://127.0.0.1:{port}/readyz", log) as proc:
        yield proc


@contextmanager
def serve_resource_api(
    issuer: str,
    audience: str,
    port: int,
    log: Path | None = None,
    allowed_origins: Sequence[str] = (),
) -> Iterator[subprocess.Popen[bytes]]:
    """``examples.resource_api`` under uvicorn, configured by RESOURCE_* only; yields once
    its /healthz answers 200."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTHORITY_", "RESOURCE_"))}
    env.update(RESOURCE_ISSUER=issuer, RESOURCE_AUDIENCE=audience)
    if allowed_origins:
        env["RESOURCE_ALLOWED_ORIGINS"] = " ".join(allowed_origins)
    command = [sys.executable, "-m", "uvicorn", "examples.resource_api.app:app"]
    command += ["--port", str(port), "--log-level", "warning"]
    ready = f"http://127.0.0.1:{port}/healthz"
    with _running("the resource API", command, env, ready, log, cwd=ROOT) as proc:
        yield proc


@contextmanager
def serve_drf_project(
    issuer: str, audience: str, port: int, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """tests/drf_project (Django REST framework) under uvicorn, trusting ``issuer`` through
    DRF_ISSUER/DRF_AUDIENCE; yields once its /health answers 200."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTHORITY_", "DRF_"))}
    env.update(DRF_ISSUER=issuer, DRF_AUDIENCE=audience)
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the project's asgi.py names its own
    command = [sys.executable, "-m", "uvicorn", "tests.drf_project.asgi:app"]
    command += ["--port", str(port), "--log-level", "warning"]
    ready = f"http://127.0.0.1:{port}/health"
    with _running("the DRF project", command, env, ready, log, cwd=ROOT) as proc:
        yield proc


@contextmanager
def serve_relying_party(
    issuer: str,
    client: tuple[str, str | None],
    url: str,
    log: Path | None = None,
    cookie: str = "relying_party",
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m examples.relying_party`` for ``client`` (id, secret or None when public),
    reached at ``url``; yields once its home page answers 200."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTHORITY_", "RP_"))}
    env.update(RP_ISSUER=issuer, RP_CLIENT_ID=client[0], RP_URL=url, RP_SESSION_COOKIE=cookie)
    if client[1]:
        env["RP_CLIENT_SECRET"] = client[1]
    command = [sys.executable, "-m", "examples.relying_party"]
    with _running("the relying party", command, env, f"{url}/", log, cwd=ROOT) as proc:
        yield proc


@contextmanager
def serve_spa(
    issuer: str, client_id: str, api: str, port: int, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m examples.spa`` on ``port``; yields once its /config.json answers 200."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTHORITY_", "SPA_"))}
    env.update(SPA_ISSUER=issuer, SPA_CLIENT_ID=client_id, SPA_API=api, SPA_PORT=str(port))
    command = [sys.executable, "-m", "examples.spa"]
    ready = f"http://127.0.0.1:{port}/config.json"
    with _running("the single-page app", command, env, ready, log, cwd=ROOT) as proc:
        yield proc


@contextmanager
def _running(
    name: str,
    command: list[str],
    env: dict[str, str],
    ready: str,
    log: Path | None,
    cwd: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """A server in its own process group, killed with the group at the end."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}")
            try:
                if httpx.get(ready, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not become ready in 30 s")
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if not isinstance(out, int):  # a log file, not DEVNULL
            out.close()


def terminate_listener(database_url: str, server_pid: int) -> int:
    """End the server's LISTEN connection as a restart of PostgreSQL would; how many ended."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name"
                    ),
                    {"name": f"authority changes (pid {server_pid})"},
                ).all()
            )
    finally:
        engine.dispose()


USER_PASSWORD = "s3cret-passphrase"


def web_app_and_alice(env: dict[str, str]) -> tuple[tuple[str, str], dict[str, Any]]:
    """A first-party app (password + refresh_token, scope read) and the user alice, made
    through the CLI; returns the app's Basic credentials and alice as the CLI printed her."""
    app = cli(
        env,
        "clients",
        "create",
        "web",
        "--grant",
        "password",
        "--grant",
        "refresh_token",
        "--scope",
        "read",
    )
    user = cli(env, "users", "create", "alice", "--password-stdin", stdin=USER_PASSWORD + "\n")
    return (app["client_id"], app["client_secret"]), user
