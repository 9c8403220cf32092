"""What every benchmark here shares: the authority CLI and server, fresh databases, /proc, HTTP.

A server runs in its own session (PID = process group id) and is stopped by its group, so that
uvicorn's workers never outlive a case.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HOST = "127.0.0.1"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer to look at (``/authorize``'s code), never one to follow."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())


def authority_bin() -> str:
    path = Path(sys.executable).with_name("authority")
    if not path.exists():
        sys.exit(f"no `authority` next to {sys.executable}: run this with the project's .venv")
    return str(path)


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without any AUTHORITY_* variable, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHORITY_")}
    env.update(values)
    return env


# -- databases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    """A fresh database (a SQLite file or a PostgreSQL schema) and its keys dir."""

    kind: str  # sqlite | postgres
    url: str
    keys_dir: Path

    def env(self, **values: str) -> dict[str, str]:
        return clean_env(
            AUTHORITY_DATABASE_URL=self.url, AUTHORITY_KEYS_DIR=str(self.keys_dir), **values
        )

    def cli(self, *args: str, stdin: str | None = None, **env: str) -> dict[str, Any]:
        """``authority ARGS --json``: its JSON answer, or RuntimeError with its stderr."""
        out = subprocess.run(
            [authority_bin(), *args, "--json"],
            env=self.env(**env),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"authority {' '.join(args)}: {out.stderr.strip()[-500:]}")
        answer: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        return answer


def pg_connect() -> Any:
    import psycopg

    return psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True, connect_timeout=5)


@contextlib.contextmanager
def fresh_database(kind: str, work: Path) -> Iterator[Database]:
    """A new SQLite file under ``work``, or a new PostgreSQL schema dropped afterwards."""
    keys = work / kind / "keys"
    keys.parent.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        yield Database(kind, f"sqlite:///{work / kind / 'authority.db'}", keys)
        return
    schema = f"authority_bench_{os.getpid()}_{secrets.token_hex(3)}"
    with pg_connect() as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield Database(kind, f"{PG_URL}?options=-csearch_path%3D{schema}", keys)
    finally:
        with pg_connect() as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# -- /proc -------------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat after ``comm)``: state ppid pgrp ... utime(11) stime(12)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) and int(fields[2]) == pgid:
            pids.append(int(entry.name))
    return sorted(pids)


def process_cpu(pid: int) -> float:
    """utime + stime of one process, in seconds (0 when it is gone)."""
    fields = _stat(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# -- servers -----------------------------------------------------------------------------------


class Server:
    """A server process in its own session, logging to ``log``; a context manager that stops it."""

    def __init__(
        self, argv: list[str], env: dict[str, str], log: Path, workers: int = 1, cwd: Path = ROOT
    ) -> None:
        self.argv, self.workers = argv, workers
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def wait_ready(self, port: int, path: str | None = "/readyz", limit: float = 60) -> None:
        """Until ``path`` answers 200 (``None``: until the port accepts) and every worker is up."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited at start with {self.proc.returncode}")
            if _answers(port, path) and len(self.worker_pids()) >= self.workers:
                if self.workers > 1:
                    time.sleep(1)  # the last worker may still be loading its keys
                return
            time.sleep(0.1)
        raise RuntimeError(f"server not ready on port {port} after {limit:.0f} s")

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the leader, or uvicorn's spawned workers."""
        if self.workers == 1:
            return [self.proc.pid]
        return [p for p in group_pids(self.proc.pid) if _is_worker(p)]

    def cpu_seconds(self) -> float:
        return sum(process_cpu(pid) for pid in group_pids(self.proc.pid))

    def rss_mb(self) -> list[float]:
        return [round(r, 1) for r in map(rss_mb, self.worker_pids()) if r]

    def stop(self) -> bool:
        """SIGTERM to the group, SIGKILL after 10 s; True when nothing of it is left."""
        pgid = self.proc.pid
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=wait)
            deadline = time.monotonic() + wait
            while group_pids(pgid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if not group_pids(pgid):
                return True
        return False


def authority_serve(
    db: Database, port: int, log: Path, workers: int = 1, prefix: tuple[str, ...] = (), **env: str
) -> Server:
    """``authority serve`` on ``port`` with production settings (no access log); ``prefix``:
    what the command line starts with (``taskset -c 0``)."""
    argv = [*prefix, authority_bin(), "serve", "--host", HOST, "--port", str(port)]
    environ = db.env(AUTHORITY_ISSUER=f"http://{HOST}:{port}", **env)
    return Server([*argv, "--workers", str(workers)], environ, log, workers)


def _is_worker(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


def _answers(port: int, path: str | None) -> bool:
    try:
        if path is None:
            with socket.create_connection((HOST, port), timeout=0.5):
                return True
        return http(port, "GET", path, timeout=5)[0] == 200
    except OSError:
        return False


# -- HTTP --------------------------------------------------------------------------------------


def http(
    port: int,
    method: str,
    path: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, dict[str, str], bytes]:
    """One request to 127.0.0.1:``port`` (a form body when ``body``): status, headers, body.
    Redirects are not followed."""
    data = body.encode() if body is not None else None
    req = urllib.request.Request(f"http://{HOST}:{port}{path}", data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return int(resp.status), dict(resp.headers), bytes(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
