"""How soon two replicas show a change the CLI made (target: bench/targets.toml).

    .venv/bin/python bench/propagation.py [--rounds 10] [--db sqlite|postgres|both]

Two ``authority serve`` processes share one database, their periodic key reload and client
cache set to 5 minutes, so only being told of a change can make them show it. Each round runs
``authority keys rotate --force`` (or ``clients disable``/``enable``) and measures, from the
moment the command returned, until both replicas sign with the new key (or refuse, then accept,
the client). The command's process commits well before it exits, so the same changes are also
made from this process, through the same use cases, and timed from their commit. Printed: min,
median and max per change, per database.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from authority.admin.provision import Admin
from authority.settings import Settings
from authority.storage.sql import SqlStorage
from bench.common import Database, authority_serve, basic, free_port, fresh_database, http
from bench.report import check

SLOW = {"AUTHORITY_KEY_RELOAD_SECONDS": "300", "AUTHORITY_CLIENT_CACHE_TTL": "300"}
LIMIT = 10.0  # seconds: a round that takes longer is a failure, not a figure


def _token(port: int, auth: str) -> tuple[int, str | None]:
    """The status of a client_credentials request, and the kid of the token it got."""
    status, _, body = http(
        port, "POST", "/token", "grant_type=client_credentials", {"Authorization": auth}
    )
    if status != 200:
        return status, None
    segment = json.loads(body)["access_token"].split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return status, str(header["kid"])


def _until(condition: Callable[[], bool]) -> float:
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > LIMIT:
            raise RuntimeError(f"not within {LIMIT} s")
        time.sleep(0.002)
    return time.perf_counter() - started


def measure(db: Database, work: Path, rounds: int) -> dict[str, list[float]]:
    db.cli("init", AUTHORITY_ID_TOKEN_ALG="ES256")
    svc = db.cli("clients", "create", "svc", "--grant", "client_credentials")
    client_id, auth = svc["client_id"], basic(svc["client_id"], svc["client_secret"])
    ports = [free_port(), free_port()]
    delays: dict[str, list[float]] = {}
    with ExitStack() as stack:
        for i, port in enumerate(ports):
            server = stack.enter_context(
                authority_serve(db, port, work / f"{db.kind}-{i}.log", **SLOW)
            )
            server.wait_ready(port)
        storage = SqlStorage.from_url(db.url)
        stack.callback(storage.close)
        admin = Admin(Settings(database_url=db.url, keys_dir=db.keys_dir), storage)

        def kids() -> set[str | None]:
            return {_token(port, auth)[1] for port in ports}

        def statuses() -> set[int]:
            return {_token(port, auth)[0] for port in ports}

        def rotate_cli() -> str:
            report = db.cli("keys", "rotate", "--alg", "ES256", "--force")["rotations"][0]
            return str(report["activated"])

        def rotate_here() -> str:
            return str(admin.rotate_keys("ES256", True, False, False)[0].activated)

        def rotation(rotate: Callable[[], str]) -> tuple[Callable[[], object], Callable[[], bool]]:
            """A rotation, and whether every replica signs with the key it promoted."""
            kid: list[str] = []
            return (lambda: kid.append(rotate())), (lambda: kids() == {kid[-1]})

        def timed(name: str, change: Callable[[], object], seen: Callable[[], bool]) -> None:
            # At a random moment: a change made just after a poll would always wait a whole one.
            time.sleep(random.uniform(0, 0.3))
            change()
            delays.setdefault(name, []).append(_until(seen))

        assert statuses() == {200}  # every replica caches the client from here
        for _ in range(rounds):
            timed("keys rotate (CLI)", *rotation(rotate_cli))
            timed(
                "clients disable (CLI)",
                lambda: db.cli("clients", "disable", client_id),
                lambda: statuses() == {401},
            )
            timed(
                "clients enable (CLI)",
                lambda: db.cli("clients", "enable", client_id),
                lambda: statuses() == {200},
            )
        for _ in range(rounds):
            timed("keys rotate (commit)", *rotation(rotate_here))
            timed(
                "disable (commit)",
                lambda: storage.set_client_disabled(client_id, True, int(time.time())),
                lambda: statuses() == {401},
            )
            timed(
                "enable (commit)",
                lambda: storage.set_client_disabled(client_id, False, int(time.time())),
                lambda: statuses() == {200},
            )
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="authority-propagation-") as name:
        for kind in kinds:
            with fresh_database(kind, Path(name)) as db:
                delays = measure(db, Path(name), args.rounds)
            for change, seconds in delays.items():
                ms = [s * 1000 for s in seconds]
                worst = max(worst, *ms)
                print(
                    f"{kind:9s} {change:22s} n={len(ms):3d}  min {min(ms):6.1f} ms  "
                    f"median {statistics.median(ms):6.1f} ms  max {max(ms):6.1f} ms"
                )
    print(check("propagation", "max_ms", worst))


if __name__ == "__main__":
    main()
