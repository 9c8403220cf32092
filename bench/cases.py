"""authority's cases: the provisioning they need, and for each, its sanity request and its load.

Provisioning goes through the CLI, as an operator would: ``authority init`` once per algorithm
(one active key each, so the JWKS holds ES256, RS256 and EdDSA keys), a client_credentials
client, a password + refresh_token client and a user. Refresh tokens are single-use, so the
refresh_token case takes them from a pool made straight through the storage API.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.common import Database, basic, http
from bench.load import CC_BODY, REFRESH_LUA, Load, describe, expect_token, static

ALGS = ("ES256", "RS256", "EdDSA")
AUDIENCE, SCOPE = "https://api.example", "read write"
USERNAME, PASSWORD = "bench-user", "bench correct horse battery staple"
PW_BODY = urlencode(
    {"grant_type": "password", "username": USERNAME, "password": PASSWORD, "scope": SCOPE}
)


@dataclass(frozen=True)
class Setup:
    """A provisioned database: the two clients' Basic credentials, the user."""

    db: Database
    cc_auth: str
    web_auth: str
    web_client: str
    sub: str


@dataclass(frozen=True)
class Case:
    name: str
    label: str
    kind: str  # a key of PREPARE
    alg: str = "ES256"
    workers: int = 1


CASES = [
    Case("client_credentials", "client_credentials, ES256", "cc"),
    Case("client_credentials_rs256", "client_credentials, RS256", "cc", alg="RS256"),
    Case("client_credentials_eddsa", "client_credentials, EdDSA", "cc", alg="EdDSA"),
    Case("client_credentials_2w", "client_credentials, ES256, 2 workers", "cc", workers=2),
    Case("password", "password grant (argon2id verify + new session)", "password"),
    Case("refresh_token", "refresh_token grant (rotation)", "refresh"),
    Case("jwks", "GET /jwks.json", "jwks"),
    Case("jwks_304", "GET /jwks.json, If-None-Match (304)", "jwks304"),
    Case("introspect", "POST /introspect, a valid ES256 access token", "introspect"),
]
STANDARD = ("client_credentials", "refresh_token", "introspect", "password")


def provision(db: Database) -> Setup:
    for alg in ALGS:  # `init` first: admin commands need an initialised database
        db.cli("init", AUTHORITY_ACCESS_TOKEN_ALG=alg)
    rights = ["--scope", SCOPE, "--audience", AUDIENCE]
    cc = db.cli("clients", "create", "bench-service", "--grant", "client_credentials", *rights)
    grants = ["--grant", "password", "--grant", "refresh_token"]
    web = db.cli("clients", "create", "bench-app", *grants, *rights)
    user = db.cli("users", "create", USERNAME, "--password-stdin", stdin=PASSWORD + "\n")
    return Setup(
        db,
        basic(cc["client_id"], cc["client_secret"]),
        basic(web["client_id"], web["client_secret"]),
        web["client_id"],
        user["sub"],
    )


def refresh_pool(setup: Setup, count: int) -> list[str]:
    """``count`` refresh tokens, each the first of its own family."""
    from authority.credentials.hashing import SecretDigest
    from authority.settings import Settings
    from authority.storage import Family
    from authority.storage.sql import SqlStorage

    url = setup.db.url  # on PostgreSQL these sessions' commits need not wait for the disk
    storage = SqlStorage.from_url(url + ("%20-csynchronous_commit%3Doff" if "?" in url else ""))
    digest = SecretDigest(bytes.fromhex((setup.db.keys_dir / "hash.key").read_text().strip()))
    defaults, now = Settings(), int(time.time())

    def one(_: int) -> str:
        token = secrets.token_urlsafe(32)
        family = Family(
            family_id=secrets.token_urlsafe(16),
            client_id=setup.web_client,
            sub=setup.sub,
            scope=tuple(SCOPE.split()),
            audience=(AUDIENCE,),
            auth_time=now,
            created_at=now,
            last_used_at=now,
            expires_at=now + defaults.session_max_age,
        )
        storage.start_family(family, digest.digest(token), now + defaults.refresh_token_ttl)
        return token

    try:  # SQLite writes one at a time anyway
        with ThreadPoolExecutor(4 if setup.db.kind == "postgres" else 1) as pool:
            return list(pool.map(one, range(count)))
    finally:
        storage.close()


@dataclass(frozen=True)
class Run:
    """What a case's preparation needs to know of the run."""

    duration: int
    warmup: int
    dir: Path
    refresh_rate: int  # refresh tokens per second of run


# -- each kind of case: its sanity request (what came back) and the load for wrk ---------------

Prepared = tuple[Load, str]


def token_post(port: int, auth: str, body: str, alg: str) -> tuple[str, bytes]:
    status, _, answer = http(port, "POST", "/token", body, {"Authorization": auth})
    return expect_token(status, answer, alg), answer


def client_credentials(s: Setup, case: Case, port: int, run: Run, row: dict[str, Any]) -> Prepared:
    came_back, _ = token_post(port, s.cc_auth, CC_BODY, case.alg)
    return static("POST", "/token", CC_BODY, s.cc_auth), came_back


def password(s: Setup, case: Case, port: int, run: Run, row: dict[str, Any]) -> Prepared:
    came_back, _ = token_post(port, s.web_auth, PW_BODY, case.alg)
    return static("POST", "/token", PW_BODY, s.web_auth), came_back


def refresh(s: Setup, case: Case, port: int, run: Run, row: dict[str, Any]) -> Prepared:
    started = time.monotonic()
    tokens = refresh_pool(s, 1 + run.refresh_rate * (run.duration + run.warmup))
    row.update(pool_size=len(tokens) - 1, pool_build_s=round(time.monotonic() - started, 1))
    warm_n = 1 + run.refresh_rate * run.warmup
    for name, part in (("warm", tokens[1:warm_n]), ("run", tokens[warm_n:])):
        (run.dir / f"{s.db.kind}-{name}.pool").write_text("\n".join(part) + "\n")
    body = f"grant_type=refresh_token&refresh_token={tokens[0]}"
    came_back, _ = token_post(port, s.web_auth, body, case.alg)
    args = [s.web_auth, str(case.workers)]  # the token file, auth, wrk's thread count
    pools = [str(run.dir / f"{s.db.kind}-{name}.pool") for name in ("run", "warm")]
    return Load("/token", [pools[0], *args], REFRESH_LUA, [pools[1], *args]), came_back


def jwks(s: Setup, case: Case, port: int, run: Run, row: dict[str, Any]) -> Prepared:
    status, _, body = http(port, "GET", "/jwks.json")
    if status != 200:
        raise RuntimeError(f"GET /jwks.json -> {status}")
    return static("GET", "/jwks.json"), describe(body)


def jwks_304(s: Setup, case: Case, port: int, run: Run, row: dict[str, Any]) -> Prepared:
    status, headers, body = http(port, "GET", "/jwks.json")
    tag = {k.lower(): v for k, v in headers.items()}.get("etag", "")
    again, _, _ = http(port, "GET", "/jwks.json", headers={"If-None-Match": tag})
    if status != 200 or again != 304:
        raise RuntimeError(f"GET /jwks.json -> {status}, then with its ETag {tag!r} -> {again}")
    load = static("GET", "/jwks.json", "-", "-", f"If-None-Match: {tag}")
    return load, f"304 Not Modified ({describe(body)})"


def introspect(s: Setup, case: Case, port: int, run: Run, row: dict[str, Any]) -> Prepared:
    issued, answer = token_post(port, s.cc_auth, CC_BODY, case.alg)
    body = urlencode({"token": json.loads(answer)["access_token"]})
    status, _, resp = http(port, "POST", "/introspect", body, {"Authorization": s.cc_auth})
    if status != 200 or json.loads(resp).get("active") is not True:
        raise RuntimeError(f"POST /introspect -> {status}: {resp[:300]!r}")
    return static("POST", "/introspect", body, s.cc_auth), f'"active":true for {issued}'


PREPARE: dict[str, Callable[[Setup, Case, int, Run, dict[str, Any]], Prepared]] = {
    "cc": client_credentials,
    "password": password,
    "refresh": refresh,
    "jwks": jwks,
    "jwks304": jwks_304,
    "introspect": introspect,
}


def argon2_rate(seconds: float) -> float:
    """Raw argon2id verifies per second at the server's parameters, on the calling thread."""
    from argon2 import PasswordHasher

    from authority.settings import Settings

    s = Settings()
    hasher = PasswordHasher(
        time_cost=s.argon2_time_cost,
        memory_cost=s.argon2_memory_cost,
        parallelism=s.argon2_parallelism,
    )
    stored = hasher.hash(PASSWORD)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        hasher.verify(stored, PASSWORD)
        n += 1
    return round(n / (time.perf_counter() - start), 1)
