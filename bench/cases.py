"""The case table, authority's cases and the peers' cases, and the raw argon2id rate."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.constants import CC_BODY, HERE, HOST, LUA_REFRESH, LUA_REQUEST, PASSWORD, PW_BODY, ROOT
from bench.load import Load, basic, describe, http
from bench.machine import code_fingerprint
from bench.measure import Neighbour, Options, Row, ServerSpec, run_case
from bench.processes import core_busy
from bench.provision import Target, authority_bin, base_env, make_pool


@dataclass(frozen=True)
class Case:
    name: str
    label: str
    kind: str  # cc | password | refresh | jwks | jwks304 | introspect
    alg: str = "ES256"
    workers: int = 1

    @property
    def pinned(self) -> bool:
        return self.workers == 1


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
CASE_NAMES = [c.name for c in CASES]
PEERS = {
    "A1": "oidc-provider, client_credentials ES256",
    "A5": "oidc-provider, GET /jwks",
    "L5": "Starlette /es256 ceiling, no DB",
}
# which peers a case is compared with
PEERS_FOR = {"cc": ("A1", "L5"), "jwks": ("A5",), "jwks304": ("A5",)}


def authority_spec(target: Target, case: Case, neighbour: Neighbour | None) -> ServerSpec:
    def argv(port: int) -> list[str]:
        return [
            str(authority_bin()),
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(case.workers),
        ]

    def env(port: int) -> dict[str, str]:
        values = base_env(target)
        values["AUTHORITY_ISSUER"] = f"http://{HOST}:{port}"
        values["AUTHORITY_ACCESS_TOKEN_ALG"] = case.alg
        return values

    return ServerSpec("authority", argv, env, ROOT, case.workers, case.pinned, "/readyz", neighbour)


def check_token(expect_alg: str) -> Callable[[int, bytes], str]:
    """A check of a token response: 200, a JWT signed with ``expect_alg``."""

    def sanity(status: int, body: bytes) -> str:
        if status != 200:
            raise RuntimeError(f"sanity request -> {status}: {body[:300]!r}")
        text = describe(body)
        if f"alg={expect_alg} " not in text:
            raise RuntimeError(f"expected an {expect_alg} token, got {text}")
        return text

    return sanity


def authority_case(
    target: Target, case: Case, opts: Options, pool_rate: int, neighbour: Neighbour | None = None
) -> Row:
    """One case against a fresh server; ``neighbour``: the database server, when it is ours to
    watch (its CPU over the measured window). Notes the package's source before and after."""
    row = measure_authority(target, case, opts, pool_rate, neighbour)
    after = code_fingerprint()
    if after != row.data["code"]:
        row.data["code_after"] = after
    return row


def measure_authority(
    target: Target, case: Case, opts: Options, pool_rate: int, neighbour: Neighbour | None = None
) -> Row:
    layout = "1 w, core 0" if case.pinned else "2 w, shared"
    row = Row(case.name, "authority", target.db, case.label, layout)
    cc_auth = basic(target.cc["client_id"], target.cc["client_secret"])
    web_auth = basic(target.web["client_id"], target.web["client_secret"])
    spec = authority_spec(target, case, neighbour)
    row.data["code"] = code_fingerprint()
    jwt_ok = check_token(case.alg)

    def post(auth: str, body: str) -> Callable[[int], str]:
        def sanity(port: int) -> str:
            status, _, resp = http(port, "POST", "/token", body, {"Authorization": auth})
            return jwt_ok(status, resp)

        return sanity

    if case.kind == "cc":
        load = Load("/token", LUA_REQUEST, ["POST", CC_BODY, cc_auth])
        return run_case(row, spec, load, post(cc_auth, CC_BODY), opts)
    if case.kind == "password":
        # the raw rate right before the case, so both see the same neighbours
        argon2 = measure_argon2(opts.argon2_seconds)
        row.data["argon2"] = argon2
        if opts.verbose:
            print(
                f"{target.db:8} argon2id raw verify on core 0: {argon2['verify_per_s']:.1f}/s, "
                f"{argon2['cpu_ms_per_verify']:.1f} ms CPU each ({argon2['params']})",
                flush=True,
            )
        load = Load("/token", LUA_REQUEST, ["POST", PW_BODY, web_auth])
        return run_case(row, spec, load, post(web_auth, PW_BODY), opts)
    if case.kind == "refresh":
        run_n = pool_rate * opts.duration
        warm_n = pool_rate * opts.warmup
        pools = opts.run_dir / f"{target.db}-refresh"
        pools.mkdir(exist_ok=True)
        seconds = make_pool(target, pools / "all.txt", run_n + warm_n + 1)
        tokens = (pools / "all.txt").read_text().split()
        (pools / "sanity.txt").write_text(tokens[0] + "\n")
        (pools / "warm.txt").write_text("\n".join(tokens[1 : 1 + warm_n]) + "\n")
        (pools / "run.txt").write_text("\n".join(tokens[1 + warm_n :]) + "\n")
        row.data.update(pool_size=run_n, pool_warmup=warm_n, pool_build_s=round(seconds, 1))
        if opts.verbose:
            print(
                f"{target.db:8} refresh pool: {len(tokens)} tokens via start_family in "
                f"{seconds:.1f} s",
                flush=True,
            )
        threads = "1" if case.pinned else "2"
        load = Load(
            "/token",
            LUA_REFRESH,
            [str(pools / "run.txt"), web_auth, threads],
            [str(pools / "warm.txt"), web_auth, threads],
        )
        body = f"grant_type=refresh_token&refresh_token={tokens[0]}"
        run_case(row, spec, load, post(web_auth, body), opts)
        consumed = (row.get("requests") or 0) + opts.connections  # at most, with in-flight
        if row.get("non2xx") and consumed >= run_n:
            row.data["error"] = f"the pool of {run_n} ran dry: raise --refresh-pool-rate"
        return row
    if case.kind == "jwks":
        load = Load("/jwks.json", LUA_REQUEST, ["GET", "-", "-"])
        return run_case(row, spec, load, jwks_sanity, opts)
    if case.kind == "jwks304":
        wrk_args = ["GET", "-", "-"]  # + If-None-Match, once the server has told its ETag

        def sanity(port: int) -> str:
            status, headers, body = http(port, "GET", "/jwks.json")
            tag = {k.lower(): v for k, v in headers.items()}.get("etag")
            if status != 200 or not tag:
                raise RuntimeError(f"GET /jwks.json -> {status}, ETag {tag!r}")
            status, _, _ = http(port, "GET", "/jwks.json", headers={"If-None-Match": tag})
            if status != 304:
                raise RuntimeError(f"If-None-Match -> {status}, not 304")
            wrk_args.append(f"If-None-Match: {tag}")
            return f"304 Not Modified ({describe(body)})"

        load = Load("/jwks.json", LUA_REQUEST, wrk_args)
        return run_case(row, spec, load, sanity, opts)
    if case.kind == "introspect":
        wrk_args = ["POST"]  # + the body with a token, once this server has issued one

        def introspect(port: int) -> str:
            status, _, resp = http(port, "POST", "/token", CC_BODY, {"Authorization": cc_auth})
            issued = jwt_ok(status, resp)
            body = urlencode({"token": json.loads(resp)["access_token"]})
            status, _, resp = http(port, "POST", "/introspect", body, {"Authorization": cc_auth})
            if status != 200 or json.loads(resp).get("active") is not True:
                raise RuntimeError(f"POST /introspect -> {status}: {resp[:300]!r}")
            wrk_args.extend([body, cc_auth])
            return f'200 "active":true for {issued}'

        load = Load("/introspect", LUA_REQUEST, wrk_args)
        return run_case(row, spec, load, introspect, opts)
    raise ValueError(case.kind)


def jwks_sanity(port: int) -> str:
    status, _, body = http(port, "GET", "/jwks.json")
    if status != 200:
        raise RuntimeError(f"GET /jwks.json -> {status}")
    return describe(body)


def peer_case(peer: str, peers_dir: Path, opts: Options) -> Row:
    row = Row(
        peer, "oidc-provider" if peer[0] == "A" else "starlette", "-", PEERS[peer], "1 w, core 0"
    )
    auth = basic("bench-client", "bench-secret")
    if peer in ("A1", "A5"):
        keys_file = opts.run_dir / "oidc-jwks.json"
        spec = ServerSpec(
            "oidc-provider",
            lambda port: ["node", str(peers_dir / "oidc" / "provider.mjs")],
            lambda port: {
                "PORT": str(port),
                "AT_ALG": "ES256",
                "AT_FORMAT": "jwt",
                "WORKERS": "1",
                "KEYS_FILE": str(keys_file),
                "NODE_ENV": "production",
            },
            peers_dir,
        )
    else:
        uvicorn = peers_dir / ".venv" / "bin" / "uvicorn"
        spec = ServerSpec(
            "starlette",
            lambda port: [
                str(uvicorn),
                "app:app",
                "--host",
                HOST,
                "--port",
                str(port),
                "--http",
                "httptools",
                "--loop",
                "uvloop",
                "--no-access-log",
                "--log-level",
                "warning",
                "--backlog",
                "2048",
            ],
            lambda port: {"ISSUER": f"http://{HOST}:{port}"},
            peers_dir / "asgi",
        )
    if peer == "A5":
        load = Load("/jwks", LUA_REQUEST, ["GET", "-", "-"])

        def sanity(port: int) -> str:
            status, _, body = http(port, "GET", "/jwks")
            if status != 200:
                raise RuntimeError(f"GET /jwks -> {status}")
            return describe(body)

        return run_case(row, spec, load, sanity, opts)
    path = "/token" if peer == "A1" else "/es256"
    load = Load(path, LUA_REQUEST, ["POST", CC_BODY, auth])
    ok = check_token("ES256")

    def post(port: int) -> str:
        status, _, body = http(port, "POST", path, CC_BODY, {"Authorization": auth})
        return ok(status, body)

    return run_case(row, spec, load, post, opts)


# ------------------------------------------------------------------------------------------
# argon2 raw rate (run in a pinned child: ``run.py --argon2-rate SECONDS``)
# ------------------------------------------------------------------------------------------


def argon2_rate(seconds: float) -> dict[str, Any]:
    from argon2 import PasswordHasher

    from authority.settings import Settings

    s = Settings()
    hasher = PasswordHasher(
        time_cost=s.argon2_time_cost,
        memory_cost=s.argon2_memory_cost,
        parallelism=s.argon2_parallelism,
    )
    stored = hasher.hash(PASSWORD)
    hasher.verify(stored, PASSWORD)
    n, cores0, cpu0, start = 0, core_busy(), time.process_time(), time.perf_counter()
    while time.perf_counter() - start < seconds:
        hasher.verify(stored, PASSWORD)
        n += 1
    elapsed, cpu, cores1 = time.perf_counter() - start, time.process_time() - cpu0, core_busy()
    return {
        "verify_per_s": round(n / elapsed, 1),
        "cpu_ms_per_verify": round(1000 * cpu / n, 2),
        "core0_other": round(max(0.0, (cores1[0] - cores0[0] - cpu) / elapsed), 2),
        "verifies": n,
        "params": f"argon2id t={s.argon2_time_cost} m={s.argon2_memory_cost} KiB "
        f"p={s.argon2_parallelism}",
    }


def measure_argon2(seconds: float) -> dict[str, Any]:
    argv = [
        "taskset",
        "-c",
        "0",
        sys.executable,
        str(HERE / "run.py"),
        "--argon2-rate",
        str(seconds),
    ]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True)
    return json.loads(out.stdout)
