"""The machine and the versions measured, and their table in the report."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import sqlite3
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.constants import ROOT
from bench.provision import pg_connect


def command_output(*argv: str) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except OSError as exc:
        return f"n/a ({exc.strerror})"
    return (out.stdout or out.stderr).strip()


def dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def peer_dist_versions(peers_dir: Path, names: list[str]) -> dict[str, str]:
    found = {}
    for site in (peers_dir / ".venv" / "lib").glob("python*/site-packages"):
        for name in names:
            for info in site.glob(f"{name}-*.dist-info"):
                found[name] = info.name[len(name) + 1 : -len(".dist-info")]
    return found


def revision() -> str:
    """The commit measured, and whether the package had uncommitted changes."""
    head = command_output("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD")
    changed = command_output("git", "-C", str(ROOT), "status", "--porcelain", "--", "authority")
    count = len([line for line in changed.splitlines() if line.strip()])
    return f"{head} + uncommitted changes in {count} file(s) of authority/" if count else head


def code_fingerprint() -> str:
    """A short hash of the package's source files: what a server started now would import.
    Recorded per case, so that a tree that changed during the run does not go unnoticed."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "authority").rglob("*.py")):
        with contextlib.suppress(OSError):
            digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def machine(peers_dir: Path | None, with_pg: bool) -> dict[str, Any]:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    packages = [
        "authority",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "cryptography",
        "joserfc",
        "argon2-cffi",
        "argon2-cffi-bindings",
        "SQLAlchemy",
        "alembic",
        "psycopg",
    ]
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": {p: dist_version(p) for p in packages},
        "sqlite": sqlite3.sqlite_version,
        "wrk": command_output("dpkg-query", "-W", "-f=${Version}", "wrk"),
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
        "revision": revision(),
        "code": code_fingerprint(),
    }
    if with_pg:
        try:
            with pg_connect() as conn:
                info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
        except Exception as exc:
            info["postgresql"] = f"n/a ({exc.__class__.__name__})"
    if peers_dir is not None:
        info["node"] = command_output("node", "--version")
        try:
            pkg = peers_dir / "node_modules" / "oidc-provider" / "package.json"
            info["oidc-provider"] = json.loads(pkg.read_text())["version"]
        except (OSError, ValueError):
            info["oidc-provider"] = "-"
        info["peer_packages"] = peer_dist_versions(
            peers_dir, ["starlette", "uvicorn", "uvloop", "httptools", "cryptography"]
        )
    return info


def code_note(m: dict[str, Any]) -> str:
    if "code" not in m:  # a run saved before the source was fingerprinted
        return ""
    if m.get("code_end", m["code"]) != m["code"]:
        return f" (source `{m['code']}` at the start, CHANGED during the run: see the checks)"
    return f" (source `{m['code']}`)"


def machine_table(m: dict[str, Any], peers_dir: str) -> list[list[str]]:
    pk = m["packages"]
    rows = [
        ["item", "value"],
        ["CPU", f"{m['nproc']} x {m['cpu']}"],
        ["kernel", m["kernel"]],
        [
            "load average (1, 5, 15 min)",
            f"{' '.join(m['loadavg_start'])} at the start, "
            f"{' '.join(m.get('loadavg_end', []))} at the end",
        ],
        ["authority", f"{pk['authority']} at `{m['revision']}`" + code_note(m)],
        ["Python", m["python"]],
        [
            "server stack",
            ", ".join(f"{n} {pk[n]}" for n in ("starlette", "uvicorn", "httptools", "uvloop")),
        ],
        [
            "crypto, hashing",
            ", ".join(
                f"{n} {pk[n]}"
                for n in ("cryptography", "joserfc", "argon2-cffi", "argon2-cffi-bindings")
            ),
        ],
        [
            "storage",
            f"SQLAlchemy {pk['SQLAlchemy']}, alembic {pk['alembic']}, psycopg "
            f"{pk['psycopg']}; SQLite {m['sqlite']}"
            + (f"; PostgreSQL {m['postgresql']}" if "postgresql" in m else ""),
        ],
        ["load generator", f"wrk {m['wrk']}"],
    ]
    if "node" in m:
        pp = m.get("peer_packages", {})
        rows.append(["peer: oidc-provider", f"{m['oidc-provider']} on Node {m['node']}"])
        rows.append(
            [
                "peer: Starlette ceiling",
                ", ".join(
                    f"{n} {pp.get(n, '-')}"
                    for n in ("starlette", "uvicorn", "httptools", "uvloop", "cryptography")
                )
                + f" (from `{peers_dir}`)",
            ]
        )
    return rows
