"""HTTP for the sanity requests, and wrk: its command line and the parsing of its output."""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.constants import HOST, WRK_TIMEOUT

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(
    port: int,
    method: str,
    path: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, dict[str, str], bytes]:
    data = body.encode() if body is not None else None
    req = urllib.request.Request(f"http://{HOST}:{port}{path}", data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def describe(body: bytes) -> str:
    """What a sanity request returned: JWT alg/typ/length, or the JWKS algorithms."""
    doc = json.loads(body)
    if "keys" in doc:
        algs = Counter(k.get("alg", k.get("kty", "?")) for k in doc["keys"])
        kinds = ", ".join(f"{a} x{n}" if n > 1 else a for a, n in algs.items())
        return f"jwks: {len(doc['keys'])} keys ({kinds})"
    token = doc.get("access_token", "")
    if token.count(".") != 2:
        return f"opaque len={len(token)}"
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    text = f"JWT alg={header.get('alg')} typ={header.get('typ')} len={len(token)}"
    if doc.get("refresh_token"):
        text += " +refresh"
    return text


UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def to_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * UNITS_MS[match.group(2)]


def parse_wrk(out: str) -> dict[str, Any]:
    res: dict[str, Any] = {}
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(match.group(1)) if match else None
    for pct in ("50", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        res[f"p{pct}_ms"] = to_ms(match.group(1)) if match else None
    match = re.search(r"(\d+) requests in ([\d.]+\w+),", out)
    res["requests"] = int(match.group(1)) if match else None
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    res["non2xx"] = int(match.group(1)) if match else 0
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(g) for g in match.groups()) if match else 0
    return res


@dataclass(frozen=True)
class Load:
    """What wrk sends: a path, a Lua script and its arguments (warm-up and measured run)."""

    path: str
    lua: Path
    run_args: list[str]
    warm_args: list[str] | None = None  # None: the same as run_args

    def argv(self, port: int, seconds: float, threads: int, conns: int, warm: bool) -> list[str]:
        args = self.warm_args if warm and self.warm_args is not None else self.run_args
        return [
            "wrk",
            f"-t{threads}",
            f"-c{conns}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            WRK_TIMEOUT,
            "-s",
            str(self.lua),
            f"http://{HOST}:{port}{self.path}",
            "--",
            *args,
        ]
