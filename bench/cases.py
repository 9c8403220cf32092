"""authority's cases: the provisioning they need, and for each, its sanity request and its load.

Provisioning goes through the CLI, as an operator would: ``authority init`` once per algorithm
(one active key each, so the JWKS holds ES256, RS256 and EdDSA keys), a client_credentials
client, a password + refresh_token client, the same as a public cookie-mode client (a browser
app: its refresh token in the cookie, one allowed origin), a client that signs users in
(authorization_code + refresh_token, a redirect URI, no consent page) and a user. Straight
through the storage API: the user's browser session (single sign-on: the authorize case's
cookie), and the pools of single-use credentials the refresh_token, refresh_cookie and
authorization_code cases take one of per request.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.common import Database, basic, http
from bench.load import (
    CC_BODY,
    CHALLENGE,
    POOL_LUA,
    REDIRECT_LUA,
    REDIRECT_URI,
    VERIFIER,
    Load,
    authorize_path,
    describe,
    expect_code,
    expect_token,
    static,
)

ALGS = ("ES256", "RS256", "EdDSA")
AUDIENCE, SCOPE = "https://api.example", "read write"
USERNAME, PASSWORD = "bench-user", "bench correct horse battery staple"
PW_BODY = urlencode(
    {"grant_type": "password", "username": USERNAME, "password": PASSWORD, "scope": SCOPE}
)
# The cookie-mode client's page, and what its every request to /token carries besides the
# cookie (authority.web.refresh_cookie); the cookie's name for an issuer at the root path.
SPA_ORIGIN = "http://localhost:5173"
SPA_HEADERS = (("Origin", SPA_ORIGIN), ("X-Authority-CSRF", "1"))
REFRESH_COOKIE = "__Host-authority_rt"


@dataclass(frozen=True)
class Setup:
    """A provisioned database: the clients' Basic credentials, the user, the user's browser
    session (its id and its cookie's secret)."""

    db: Database
    cc_auth: str
    web_auth: str
    web_client: str
    spa_client: str  # public, cookie mode
    sub: str
    sign_in_auth: str
    sign_in_client: str
    browser_session: str
    browser_secret: str


# What an operator turns on to watch a running server: Prometheus metrics (scraped with the
# token) and the audit trail. The "_observed" cases run with them, against the same case
# without, on the same database.
METRICS_TOKEN = "bench-metrics-token-0123456789"
OBSERVED = (
    ("AUTHORITY_METRICS", "on"),
    ("AUTHORITY_METRICS_TOKEN", METRICS_TOKEN),
    ("AUTHORITY_AUDIT", "on"),
)


@dataclass(frozen=True)
class Case:
    name: str
    label: str
    kind: str  # a key of PREPARE
    alg: str = "ES256"
    workers: int = 1
    id_alg: str = "RS256"  # the id_token's, the server's default (OIDC requires RS256)
    env: tuple[tuple[str, str], ...] = ()  # more of the server's environment

    @property
    def observed(self) -> bool:
        return dict(self.env).get("AUTHORITY_METRICS") == "on"


CASES = [
    Case("client_credentials", "client_credentials, ES256", "cc"),
    Case(
        "client_credentials_observed",
        "client_credentials, ES256, metrics and audit on",
        "cc",
        env=OBSERVED,
    ),
    Case("client_credentials_rs256", "client_credentials, RS256", "cc", alg="RS256"),
    Case("client_credentials_eddsa", "client_credentials, EdDSA", "cc", alg="EdDSA"),
    Case("client_credentials_2w", "client_credentials, ES256, 2 workers", "cc", workers=2),
    Case("password", "password grant (argon2id verify + new session)", "password"),
    Case("password_observed", "password grant, metrics and audit on", "password", env=OBSERVED),
    Case("refresh_token", "refresh_token grant (rotation)", "refresh"),
    Case(
        "refresh_token_observed",
        "refresh_token grant (rotation), metrics and audit on",
        "refresh",
        env=OBSERVED,
    ),
    Case("refresh_cookie", "refresh_token grant, cookie mode (rotation)", "refresh_cookie"),
    Case("jwks", "GET /jwks.json", "jwks"),
    Case("jwks_304", "GET /jwks.json, If-None-Match (304)", "jwks304"),
    Case("introspect", "POST /introspect, a valid ES256 access token", "introspect"),
    Case("authorize", "GET /authorize, SSO session (302 with a code)", "authorize"),
    Case("authorization_code", "authorization_code grant (PKCE, RS256 id_token)", "code"),
    Case(
        "authorization_code_es256",
        "authorization_code grant (PKCE, ES256 id_token)",
        "code",
        id_alg="ES256",
    ),
]
STANDARD = (
    *("client_credentials", "client_credentials_observed", "refresh_token"),
    *("refresh_token_observed", "refresh_cookie", "introspect", "password", "password_observed"),
    *("authorize", "authorization_code", "authorization_code_es256"),
)


def provision(db: Database) -> Setup:
    for alg in ALGS:  # `init` first: admin commands need an initialised database
        db.cli("init", AUTHORITY_ACCESS_TOKEN_ALG=alg)
    rights = ["--scope", SCOPE, "--audience", AUDIENCE]
    cc = db.cli("clients", "create", "bench-service", "--grant", "client_credentials", *rights)
    grants = ["--grant", "password", "--grant", "refresh_token"]
    web = db.cli("clients", "create", "bench-app", *grants, *rights)
    cookie_mode = ["--public", "--refresh-cookie", "--allowed-origin", SPA_ORIGIN]
    spa = db.cli("clients", "create", "bench-spa", *grants, *rights, *cookie_mode)
    user = db.cli("users", "create", USERNAME, "--password-stdin", stdin=PASSWORD + "\n")
    grants = ["--grant", "authorization_code", "--grant", "refresh_token"]
    rights = ["--scope", "openid " + SCOPE, "--audience", AUDIENCE, "--redirect-uri", REDIRECT_URI]
    app = db.cli("clients", "create", "bench-web", *grants, *rights)
    session, secret = sign_in(db, user["sub"])
    return Setup(
        db,
        basic(cc["client_id"], cc["client_secret"]),
        basic(web["client_id"], web["client_secret"]),
        web["client_id"],
        spa["client_id"],
        user["sub"],
        basic(app["client_id"], app["client_secret"]),
        app["client_id"],
        session,
        secret,
    )


@contextlib.contextmanager
def storage_of(db: Database) -> Iterator[tuple[Any, Any]]:
    """The database's storage and its secret digest, as the server has them."""
    from authority.credentials.hashing import SecretDigest
    from authority.storage.sql import SqlStorage

    url = db.url  # on PostgreSQL these sessions' commits need not wait for the disk
    storage = SqlStorage.from_url(url + ("%20-csynchronous_commit%3Doff" if "?" in url else ""))
    try:
        yield storage, SecretDigest(bytes.fromhex((db.keys_dir / "hash.key").read_text().strip()))
    finally:
        storage.close()


def sign_in(db: Database, sub: str) -> tuple[str, str]:
    """The user signed in in one browser, as the login page does it: the browser session's id
    and its cookie's secret."""
    from authority.accounts.browser import BrowserSignIns
    from authority.settings import Settings

    with storage_of(db) as (storage, digest):
        browser = BrowserSignIns(storage, digest, Settings().browser_session_max_age)
        secret, session = browser.start(storage.get_user(sub), ("pwd",), int(time.time()))
    return session.session_id, secret


def refresh_pool(setup: Setup, client_id: str, count: int) -> list[str]:
    """``count`` refresh tokens of ``client_id``'s, each the first of its own family."""
    from authority.settings import Settings
    from authority.storage import Family

    defaults, now = Settings(), int(time.time())

    def one(_: int) -> str:
        token = secrets.token_urlsafe(32)
        family = Family(
            family_id=secrets.token_urlsafe(16),
            client_id=client_id,
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

    with storage_of(setup.db) as (storage, digest):
        return made(setup, one, count)


def code_pool(setup: Setup, count: int, lifetime: int) -> list[str]:
    """``count`` authorization codes of the browser session, sealed as /authorize issues them:
    for the sign-in client's redirect URI, with VERIFIER's S256 challenge; valid ``lifetime``
    s. Issuing a code writes nothing, so the pool costs no database work."""
    from authority.oauth.codes import CodeSealer
    from authority.storage import AuthorizationCode

    now = int(time.time())

    def one(_: int) -> str:
        return sealer.seal(
            AuthorizationCode(
                code_hash="",
                client_id=setup.sign_in_client,
                redirect_uri=REDIRECT_URI,
                code_challenge=CHALLENGE,
                sub=setup.sub,
                scope=("openid", *SCOPE.split()),
                audience=(AUDIENCE,),
                nonce="bench-nonce",
                auth_time=now,
                amr=("pwd",),
                browser_session_id=setup.browser_session,
                created_at=now,
                expires_at=now + lifetime,
            )
        )

    with storage_of(setup.db) as (_, digest):
        sealer = CodeSealer(digest)
        return made(setup, one, count)


def made(setup: Setup, one: Callable[[int], str], count: int) -> list[str]:
    """``one(i)`` for i in range(count), in 4 threads on PostgreSQL (SQLite writes one at a
    time anyway)."""
    with ThreadPoolExecutor(4 if setup.db.kind == "postgres" else 1) as pool:
        return list(pool.map(one, range(count)))


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


@dataclass(frozen=True)
class Sanity:
    """A pooled case's sanity request: the credential it sent, and the answer."""

    credential: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str:
        return {k.lower(): v for k, v in self.headers.items()}.get(name.lower(), "")


def pooled(
    s: Setup, case: Case, port: int, run: Run, row: dict[str, Any], pool: Pool
) -> tuple[Load, str, Sanity]:
    """A case of single-use credentials: a pool made by ``pool.make``, one of it for the sanity
    request, and for wrk a file for the warm-up and one for the measured run, each credential
    sent once (bench/wrk/pool.lua). The load, what came back and the sanity answer."""
    started = time.monotonic()
    tokens = pool.make(1 + run.refresh_rate * (run.duration + run.warmup))
    row.update(pool_size=len(tokens) - 1, pool_build_s=round(time.monotonic() - started, 1))
    warm_n = 1 + run.refresh_rate * run.warmup
    files = {name: run.dir / f"{s.db.kind}-{case.name}-{name}.pool" for name in ("warm", "run")}
    files["warm"].write_text("\n".join(tokens[1:warm_n]) + "\n")
    files["run"].write_text("\n".join(tokens[warm_n:]) + "\n")
    status, headers, body = http(
        port, "POST", "/token", pool.body(tokens[0]), pool.headers(tokens[0])
    )
    came_back = expect_token(status, body, case.alg)

    def args(name: str) -> list[str]:
        return pool.wrk_args(files[name], case.workers)

    load = Load("/token", args("run"), POOL_LUA, args("warm"))
    return load, came_back, Sanity(tokens[0], headers, body)


@dataclass(frozen=True)
class Pool:
    """How a pooled case makes its credentials and sends one: the body around it, the client
    (``auth``: its Authorization value, "-" for a public client), and for a cookie-mode client
    the cookie that carries the credential instead of the body, and the request's headers."""

    make: Callable[[int], list[str]]
    auth: str
    before: str
    after: str = ""
    cookie: str = ""
    extra: tuple[tuple[str, str], ...] = ()

    def body(self, credential: str) -> str:
        return self.before + ("" if self.cookie else credential) + self.after

    def headers(self, credential: str) -> dict[str, str]:
        sent = dict(self.extra)
        if self.auth != "-":
            sent["Authorization"] = self.auth
        if self.cookie:
            sent["Cookie"] = f"{self.cookie}={credential}"
        return sent

    def wrk_args(self, file: Path, threads: int) -> list[str]:
        """bench/wrk/pool.lua's arguments, with the pool in ``file``."""
        head = [str(file), self.auth, str(threads), self.before, self.after, self.cookie or "-"]
        return [*head, *(f"{name}: {value}" for name, value in self.extra)]


def refresh(s: Setup, case: Case, port: int, run: Run, row: dict[str, Any]) -> Prepared:
    make = partial(refresh_pool, s, s.web_client)
    pool = Pool(make, s.web_auth, "grant_type=refresh_token&refresh_token=")
    load, came_back, _ = pooled(s, case, port, run, row, pool)
    return load, came_back


def refresh_cookie(s: Setup, case: Case, port: int, run: Run, row: dict[str, Any]) -> Prepared:
    """The refresh of a cookie-mode client: the token in the cookie, from the app's origin with
    the CSRF header; the new one comes back in Set-Cookie, never in the body."""
    make = partial(refresh_pool, s, s.spa_client)
    body = "grant_type=refresh_token&" + urlencode({"client_id": s.spa_client})
    pool = Pool(make, "-", body, cookie=REFRESH_COOKIE, extra=SPA_HEADERS)
    load, came_back, sanity = pooled(s, case, port, run, row, pool)
    if "refresh_token" in json.loads(sanity.body):
        raise RuntimeError(f"a cookie-mode answer with a refresh_token: {sanity.body[:300]!r}")
    cookie = sanity.header("Set-Cookie")
    name, _, rest = cookie.partition("=")
    if name != REFRESH_COOKIE or rest.split(";")[0].strip('"') in ("", sanity.credential):
        raise RuntimeError(f"no new refresh token in Set-Cookie: {cookie[:200]!r}")
    return load, f"{came_back} +Set-Cookie {REFRESH_COOKIE}"


def code(s: Setup, case: Case, port: int, run: Run, row: dict[str, Any]) -> Prepared:
    lifetime = 600 + run.duration + run.warmup  # however long the pool takes to make
    make = partial(code_pool, s, lifetime=lifetime)
    after = "&" + urlencode({"redirect_uri": REDIRECT_URI, "code_verifier": VERIFIER})
    pool = Pool(make, s.sign_in_auth, "grant_type=authorization_code&code=", after)
    load, came_back, sanity = pooled(s, case, port, run, row, pool)
    answer = sanity.body
    id_token = json.loads(answer).get("id_token", "")
    header = json.loads(base64.urlsafe_b64decode(id_token.split(".")[0] + "==") or b"{}")
    if header.get("alg") != case.id_alg:
        raise RuntimeError(f"expected an {case.id_alg} id_token: {answer[:300]!r}")
    return load, f"{came_back} +id_token alg={case.id_alg}"


def authorize(s: Setup, case: Case, port: int, run: Run, row: dict[str, Any]) -> Prepared:
    path, expect = authorize_path("/authorize", s.sign_in_client), frozenset({302})
    cookie = f"authority_session={s.browser_secret}"  # the cookie's name for an http issuer
    status, headers, _ = http(port, "GET", path, headers={"Cookie": cookie})
    came_back = expect_code(status, headers, expect)
    return Load(path, [f"Cookie: {cookie}"], REDIRECT_LUA, expect=expect), came_back


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


def scraped(port: int, came_back: str) -> str:
    """An observed case's sanity: /metrics answers the token, with the tokens just issued."""
    auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    status, _, body = http(port, "GET", "/metrics", headers=auth)
    if status != 200 or b"authority_tokens_issued_total{" not in body:
        raise RuntimeError(f"GET /metrics -> {status}: {body[:300]!r}")
    return f"{came_back} +metrics"


PREPARE: dict[str, Callable[[Setup, Case, int, Run, dict[str, Any]], Prepared]] = {
    "cc": client_credentials,
    "password": password,
    "refresh": refresh,
    "refresh_cookie": refresh_cookie,
    "jwks": jwks,
    "jwks304": jwks_304,
    "introspect": introspect,
    "authorize": authorize,
    "code": code,
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
