"""The load generator: what wrk sends (a path, a script of bench/wrk/ and its arguments), its
command line and its output; and what a sanity request got back."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from bench.common import HERE, HOST

REQUEST_LUA = HERE / "wrk" / "request.lua"
POOL_LUA = HERE / "wrk" / "pool.lua"
REDIRECT_LUA = HERE / "wrk" / "redirect.lua"
CC_BODY = "grant_type=client_credentials&scope=read%20write&resource=https%3A%2F%2Fapi.example"
# Browser sign-in: the one redirect URI of the clients that sign in, the PKCE verifier of every
# request (RFC 7636; a fixed one does for a benchmark) and its S256 challenge.
REDIRECT_URI = "https://bench.example/cb"
VERIFIER = "bench-pkce-verifier-" + "v" * 40
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).decode()[:43]
TIMEOUT = "30s"  # password logins queue for a second or more at 32 connections
_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


@dataclass(frozen=True)
class Load:
    """A wrk script and its arguments; ``warm_args`` for the warm-up, when they differ.
    ``expect``: the only statuses a redirect case may get (with a code in each Location), for a
    script that counts them (bench/wrk/redirect.lua); otherwise any status under 400 will do."""

    path: str
    run_args: list[str]
    lua: Path = REQUEST_LUA
    warm_args: list[str] | None = None
    expect: frozenset[int] | None = None

    def unexpected(self, found: dict[str, Any]) -> int:
        """The answers of the measured run that should not have been."""
        if self.expect is None:
            return int(found["non2xx"])
        if "statuses" not in found:  # the script did not count them: none is known good
            return int(found["requests"])
        statuses: dict[int, int] = found["statuses"]
        other = sum(n for status, n in statuses.items() if status not in self.expect)
        return other + int(found["codeless"])

    def argv(self, port: int, seconds: int, threads: int, conns: int, warm: bool) -> list[str]:
        args = self.warm_args if warm and self.warm_args is not None else self.run_args
        return [
            *("wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency"),
            *("--timeout", TIMEOUT, "-s", str(self.lua), f"http://{HOST}:{port}{self.path}"),
            *("--", *args),
        ]


def static(method: str, path: str, body: str = "-", auth: str = "-", *headers: str) -> Load:
    """The same request again and again (bench/wrk/request.lua)."""
    return Load(path, [method, body, auth, *headers])


def run_wrk(argv: list[str], seconds: int) -> str:
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip()[:300]}")
    return out.stdout


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(out: str) -> dict[str, Any]:
    """req/s, p50/p90/p99 in ms, completed requests, non-2xx answers and socket errors."""
    found: dict[str, Any] = {}
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    found["rps"] = float(match.group(1)) if match else None
    for pct in ("50", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        found[f"p{pct}_ms"] = _ms(match.group(1)) if match else None
    match = re.search(r"(\d+) requests in ", out)
    found["requests"] = int(match.group(1)) if match else 0
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    found["non2xx"] = int(match.group(1)) if match else 0
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    found["socket_errors"] = sum(int(g) for g in match.groups()) if match else 0
    match = re.search(r"^Statuses:(.*)$", out, re.M)  # bench/wrk/redirect.lua
    if match:
        pairs = (part.split("=") for part in match.group(1).split())
        found["statuses"] = {int(status): int(n) for status, n in pairs}
        match = re.search(r"^Redirects without a code: (\d+)", out, re.M)
        found["codeless"] = int(match.group(1)) if match else found["requests"]
    return found


def describe(body: bytes) -> str:
    """What a sanity request got: a JWT's alg, typ and length, or a JWKS's algorithms."""
    doc = json.loads(body)
    if "keys" in doc:
        algs = Counter(k.get("alg", k.get("kty", "?")) for k in doc["keys"])
        return "jwks: " + ", ".join(f"{a} x{n}" for a, n in algs.items())
    token = doc.get("access_token", "")
    if token.count(".") != 2:
        return f"opaque len={len(token)}"
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    refresh = " +refresh" if doc.get("refresh_token") else ""
    return f"JWT alg={header.get('alg')} typ={header.get('typ')} len={len(token)}{refresh}"


def expect_token(status: int, body: bytes, alg: str) -> str:
    """A token answer: 200 and a JWT signed with ``alg``; what it was, or RuntimeError."""
    if status != 200:
        raise RuntimeError(f"sanity request -> {status}: {body[:300]!r}")
    text = describe(body)
    if f"alg={alg} " not in text:
        raise RuntimeError(f"expected an {alg} token, got {text}")
    return text


def authorize_path(path: str, client_id: str) -> str:
    """A code request (RFC 6749 §4.1.1 with PKCE, OpenID Connect) to the endpoint at ``path``."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "scope": "openid",
        "state": "bench-state",
    }
    return f"{path}?{urlencode(query)}"


def expect_code(status: int, headers: dict[str, str], expect: frozenset[int]) -> str:
    """A redirect to REDIRECT_URI with a code and the state: what it was, or RuntimeError."""
    location = {k.lower(): v for k, v in headers.items()}.get("location", "")
    target, query = urlsplit(location), parse_qs(urlsplit(location).query)
    if status not in expect or location.split("?")[0] != REDIRECT_URI or "code" not in query:
        raise RuntimeError(f"sanity request -> {status}, Location {location[:200]!r}")
    if query.get("state") != ["bench-state"]:
        raise RuntimeError(f"the redirect lost the state: {target.query[:200]!r}")
    iss = " +iss" if "iss" in query else ""
    return f"{status} to the redirect URI, code len={len(query['code'][0])} +state{iss}"
