"""How long `authority users import` takes for 100,000 Django users (target: under a minute).

    .venv/bin/python bench/import_users.py [--users 100000] [--db sqlite|postgres|both]

Writes a dumpdata-shaped JSON file (every user with a real Django PBKDF2 hash string, copied,
as the importer copies it), imports it into a fresh database, imports it again (the update
path), and prints both timings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HASH = "pbkdf2_sha256$1000000$fqo8NWCsZ4doRnHX4PGcRw$cBfBCsTB2BosDodBSv5rmq7sZHrfhqQEwLfZr/ZD7RE="
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def dump(path: Path, count: int) -> None:
    records = [
        {
            "model": "auth.user",
            "pk": n,
            "fields": {
                "password": HASH,
                "username": f"user{n:06d}",
                "email": f"user{n:06d}@example.com",
                "is_active": n % 50 != 0,
                "is_staff": False,
                "is_superuser": False,
                "date_joined": "2024-01-01T00:00:00Z",
            },
        }
        for n in range(count)
    ]
    path.write_text(json.dumps(records, indent=2))


def timed_import(env: dict[str, str], path: Path) -> tuple[float, dict]:
    authority = str(Path(sys.executable).with_name("authority"))
    started = time.perf_counter()
    done = subprocess.run(
        [authority, "users", "import", str(path), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return time.perf_counter() - started, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="authority-import-"))
    path = work / "users.json"
    dump(path, args.users)
    print(f"{args.users:,} users, {path.stat().st_size / 1e6:.1f} MB of dumpdata JSON")
    targets = {"sqlite": f"sqlite:///{work / 'authority.db'}"}
    schema = f"import_bench_{os.getpid()}"
    if args.db in ("postgres", "both"):
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "test",
                "-qc",
                f"CREATE SCHEMA {schema}",
            ],
            check=True,
        )
        targets["postgres"] = f"{PG}?options=-csearch_path%3D{schema}"
    if args.db == "postgres":
        del targets["sqlite"]
    try:
        for name, url in targets.items():
            env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHORITY_")}
            env.update(
                AUTHORITY_DATABASE_URL=url,
                AUTHORITY_KEYS_DIR=str(work / f"keys-{name}"),
                AUTHORITY_ID_TOKEN_ALG="ES256",
            )
            subprocess.run(
                [str(Path(sys.executable).with_name("authority")), "init"],
                env=env,
                capture_output=True,
                check=True,
            )
            first, report = timed_import(env, path)
            again, report2 = timed_import(env, path)
            print(
                f"{name:9s} first import {first:6.1f} s (created {report['created']:,}), "
                f"re-import {again:6.1f} s (updated {report2['updated']:,}), "
                f"bad rows {len(report['failed'])}"
            )
    finally:
        if "postgres" in targets:
            subprocess.run(
                [
                    "psql",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-d",
                    "test",
                    "-qc",
                    f"DROP SCHEMA {schema} CASCADE",
                ],
                check=False,
            )


if __name__ == "__main__":
    main()
