"""Databases and provisioning: a fresh SQLite file or PostgreSQL schema, keys, clients and the
user through the CLI; the refresh-token pool made through the storage API."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.constants import ALGS, AUDIENCE, PASSWORD, PG_BASE_URL, SCOPE, USERNAME


@dataclass
class Target:
    db: str  # sqlite | postgres
    url: str
    keys_dir: Path
    schema: str | None = None
    cc: dict[str, Any] = field(default_factory=dict)
    web: dict[str, Any] = field(default_factory=dict)
    user: dict[str, Any] = field(default_factory=dict)


def authority_bin() -> Path:
    path = Path(sys.executable).with_name("authority")
    if not path.exists():
        sys.exit(
            f"no authority console script next to {sys.executable}: run this with the "
            "project's virtualenv, e.g. .venv/bin/python bench/run.py"
        )
    return path


def base_env(target: Target) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHORITY_")}
    env["AUTHORITY_DATABASE_URL"] = target.url
    env["AUTHORITY_KEYS_DIR"] = str(target.keys_dir)
    return env


def cli(target: Target, *args: str, stdin: str | None = None, alg: str | None = None) -> Any:
    env = base_env(target)
    if alg:
        env["AUTHORITY_ACCESS_TOKEN_ALG"] = alg
    out = subprocess.run(
        [str(authority_bin()), *args, "--json"],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"authority {' '.join(args)} failed: {out.stderr.strip()[-500:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def provision(target: Target) -> None:
    for alg in ALGS:  # one active key per algorithm: the JWKS holds three keys, like A5's
        cli(target, "init", alg=alg)
    target.cc = cli(
        target,
        "clients",
        "create",
        "bench-service",
        "--grant",
        "client_credentials",
        "--scope",
        SCOPE,
        "--audience",
        AUDIENCE,
    )
    target.web = cli(
        target,
        "clients",
        "create",
        "bench-app",
        "--grant",
        "password",
        "--grant",
        "refresh_token",
        "--scope",
        SCOPE,
        "--audience",
        AUDIENCE,
    )
    target.user = cli(
        target, "users", "create", USERNAME, "--password-stdin", stdin=PASSWORD + "\n"
    )


def pg_connect() -> Any:
    import psycopg

    return psycopg.connect(PG_BASE_URL.replace("+psycopg", ""), autocommit=True, connect_timeout=5)


def make_target(db: str, work: Path) -> Target:
    keys = work / db / "keys"
    keys.parent.mkdir(parents=True)
    if db == "sqlite":
        return Target(db, f"sqlite:///{work / db / 'authority.db'}", keys)
    schema = f"authority_bench_{os.getpid()}_{secrets.token_hex(3)}"
    with pg_connect() as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return Target(db, f"{PG_BASE_URL}?options=-csearch_path%3D{schema}", keys, schema=schema)


def drop_target(target: Target) -> None:
    if target.schema:
        with pg_connect() as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{target.schema}" CASCADE')


def make_pool(target: Target, path: Path, count: int) -> float:
    """``count`` refresh tokens, each the first of its own family, written to ``path``."""
    from authority.credentials.hashing import SecretDigest
    from authority.settings import Settings
    from authority.storage import Family
    from authority.storage.sql import SqlStorage

    url = target.url
    if target.schema:  # the pool-building sessions only: commits need not wait for the disk
        url += "%20-csynchronous_commit%3Doff"
    storage = SqlStorage.from_url(url)
    digest = SecretDigest(bytes.fromhex((target.keys_dir / "hash.key").read_text().strip()))
    defaults = Settings()
    now = int(time.time())
    client_id, sub = target.web["client_id"], target.user["sub"]

    def one(_: int) -> str:
        token = secrets.token_urlsafe(32)
        family = Family(
            family_id=secrets.token_urlsafe(16),
            client_id=client_id,
            sub=sub,
            scope=tuple(SCOPE.split()),
            audience=(AUDIENCE,),
            auth_time=now,
            created_at=now,
            last_used_at=now,
            expires_at=now + defaults.session_max_age,
        )
        storage.start_family(family, digest.digest(token), now + defaults.refresh_token_ttl)
        return token

    start = time.monotonic()
    try:
        if target.schema:
            with ThreadPoolExecutor(4) as pool:
                tokens = list(pool.map(one, range(count)))
        else:  # SQLite writes are serial anyway
            tokens = [one(i) for i in range(count)]
    finally:
        storage.close()
    path.write_text("\n".join(tokens) + "\n")
    return time.monotonic() - start
