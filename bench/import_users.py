"""How long `authority users import` takes for 100,000 Django users (target: bench/targets.toml).

    .venv/bin/python bench/import_users.py [--users 100000] [--db sqlite|postgres|both]

Writes a dumpdata-shaped JSON file (every user with a real Django PBKDF2 hash string, copied,
as the importer copies it), imports it into a fresh database, imports it again (the update
path), and prints both timings.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Database, fresh_database
from bench.report import check

HASH = "pbkdf2_sha256$1000000$fqo8NWCsZ4doRnHX4PGcRw$cBfBCsTB2BosDodBSv5rmq7sZHrfhqQEwLfZr/ZD7RE="


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


def timed_import(db: Database, path: Path) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    report = db.cli("users", "import", str(path))
    return time.perf_counter() - started, report


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    with tempfile.TemporaryDirectory(prefix="authority-import-") as name:
        work = Path(name)
        path = work / "users.json"
        dump(path, args.users)
        print(f"{args.users:,} users, {path.stat().st_size / 1e6:.1f} MB of dumpdata JSON")
        for kind in kinds:
            with fresh_database(kind, work) as db:
                db.cli("init", AUTHORITY_ID_TOKEN_ALG="ES256")  # no RSA key to make
                first, report = timed_import(db, path)
                again, report2 = timed_import(db, path)
            print(
                f"{kind:9s} first import {first:6.1f} s (created {report['created']:,}), "
                f"re-import {again:6.1f} s (updated {report2['updated']:,}), "
                f"bad rows {len(report['failed'])}"
            )
            if args.users == 100_000:  # the target is set for that many
                print(check("import_users", "seconds", first))


if __name__ == "__main__":
    main()
