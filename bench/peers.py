"""The peer comparison, used with ``run.py --peers``: servers of the peer harness measured the
same way as authority, so that the report can hold our figures against theirs.

A1: panva's oidc-provider, client_credentials with an ES256 JWT access token; A5: its JWKS;
L5: a bare Starlette app that signs an ES256 JWT per request, no database (our ceiling). They run
from a set-up copy of the peer harness: ``cp -r ../shared/peers /tmp/peers && (cd /tmp/peers &&
./setup.sh)``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.common import HOST, Server, basic, clean_env, http
from bench.load import CC_BODY, Load, describe, expect_token, static

AUTH = basic("bench-client", "bench-secret")


@dataclass(frozen=True)
class Peer:
    label: str
    argv: Callable[[Path, int], list[str]]
    cwd: str  # under the harness
    path: str
    alg: str | None  # the token it signs; None: a JWKS

    def start(self, home: Path, port: int, log: Path, prefix: list[str]) -> Server:
        env = clean_env(PORT=str(port), AT_ALG="ES256", AT_FORMAT="jwt", WORKERS="1")
        env |= {"NODE_ENV": "production", "ISSUER": f"http://{HOST}:{port}"}
        env["KEYS_FILE"] = str(log.with_suffix(".jwks.json"))
        return Server([*prefix, *self.argv(home, port)], env, log, cwd=home / self.cwd)

    def prepare(self, port: int) -> tuple[Load, str]:
        if self.alg is None:
            status, _, body = http(port, "GET", self.path)
            if status != 200:
                raise RuntimeError(f"GET {self.path} -> {status}")
            return static("GET", self.path), describe(body)
        status, _, body = http(port, "POST", self.path, CC_BODY, {"Authorization": AUTH})
        return static("POST", self.path, CC_BODY, AUTH), expect_token(status, body, self.alg)


def _node(home: Path, port: int) -> list[str]:
    return ["node", str(home / "oidc" / "provider.mjs")]


def _starlette(home: Path, port: int) -> list[str]:
    uvicorn = str(home / ".venv" / "bin" / "uvicorn")
    flags = ["--http", "httptools", "--loop", "uvloop", "--no-access-log", "--backlog", "2048"]
    return [uvicorn, "app:app", "--host", HOST, "--port", str(port), *flags]


PEERS = {
    "A1": Peer("oidc-provider, client_credentials ES256", _node, ".", "/token", "ES256"),
    "A5": Peer("oidc-provider, GET /jwks", _node, ".", "/jwks", None),
    "L5": Peer("Starlette /es256 ceiling, no DB", _starlette, "asgi", "/es256", "ES256"),
}


def problems(home: Path) -> list[str]:
    """What keeps the peers from running from ``home``."""
    need = [home / "node_modules" / "oidc-provider", home / ".venv" / "bin" / "uvicorn"]
    if shutil.which("node") is None or any(not p.exists() for p in need):
        return [f"the peer harness is not set up in {home}: see bench/peers.py"]
    return []


def versions(home: Path) -> dict[str, str]:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    package = home / "node_modules" / "oidc-provider" / "package.json"
    oidc = json.loads(package.read_text()).get("version", "-")
    return {"peers": f"oidc-provider {oidc} on Node {node}; Starlette ceiling from {home}"}
