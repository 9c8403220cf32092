#!/usr/bin/env python3
"""Token endpoint benchmark: authority against its peers, on loopback, every loop bounded.

Run it from the repository root with the project's virtualenv:

    .venv/bin/python bench/run.py                                   # everything, ~8 min
    .venv/bin/python bench/run.py --cases client_credentials,jwks --db sqlite --duration 5
    .venv/bin/python bench/run.py --write docs/PERFORMANCE.md       # and write the report
    .venv/bin/python bench/run.py --list                            # the case names
    .venv/bin/python bench/run.py --report-from bench/results/RUN.json --write FILE  # re-render

(``python -m bench.run ...`` from the repository root does the same.)

The peers need a set-up copy of the peer harness (read-only in the shared folder):
``cp -r ../shared/peers /tmp/peers && (cd /tmp/peers && ./setup.sh)``; or pass ``--no-peers``.

What it does, for each database (a fresh SQLite file, a fresh PostgreSQL schema):

* provisions a fresh temp dir (database + keys dir) through the CLI: one signing key per
  algorithm, a client_credentials client, a password + refresh_token client and a user;
* for each case starts ``authority serve`` (production settings: default argon2 parameters,
  no access log) on a free 127.0.0.1 port in its own process group, sends one sanity request,
  warms up with wrk for 2 s, waits for the server to go idle, then measures with
  ``wrk -t1 -c32 -d10s --latency`` (server ``taskset -c 0``, wrk ``taskset -c 1``) and reads
  the server's CPU time and per-worker RSS from /proc; then stops it by its process group;
* the refresh_token case takes a different token for every request from a pool file made
  straight through the storage API (``SqlStorage.start_family``), sized for the run; the
  introspect case posts an ES256 access token that the same server issued just before;
* for the 1-worker PostgreSQL cases, the PostgreSQL server's processes are pinned to core 1
  (wrk's), and given back their CPUs after each case, also on errors and Ctrl-C.

It also measures the raw argon2id verify rate on one core at the server's parameters, and
runs the peers from the peer harness (``--peers-dir``, default /tmp/peers, set up with its
``setup.sh``) the same way: oidc-provider client_credentials ES256 (A1) and its JWKS (A5),
and the bare Starlette ``/es256`` ceiling (L5).

Results: a table on stdout, ``bench/results/<run-id>.json`` plus wrk outputs and server logs
in ``bench/results/<run-id>/``; with ``--write FILE`` a markdown report.

The pieces: ``cases`` (the case table, authority's and the peers' cases, raw argon2id rate),
``provision`` (databases, CLI provisioning, refresh-token pool), ``measure`` (one measured
case, py-spy), ``load`` (sanity HTTP, wrk command line and output), ``processes`` (process
groups, /proc CPU and RSS, free ports), ``placement`` (PostgreSQL's CPU affinity), ``machine``
(versions), ``report`` (checks, tables, markdown); this file: the command line and the run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the ``bench`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cases import (
    CASE_NAMES,
    CASES,
    PEERS,
    PEERS_FOR,
    Case,
    argon2_rate,
    authority_case,
    peer_case,
)
from bench.constants import RESULTS
from bench.machine import code_fingerprint, machine
from bench.measure import Options, Row
from bench.placement import PostgresPlacement, cpu_list
from bench.processes import stop_everything
from bench.provision import Target, authority_bin, drop_target, make_target, pg_connect, provision
from bench.report import checks, print_summary, write_report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Benchmark authority's token endpoint and JWKS against its peers.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="cases: " + ", ".join(CASE_NAMES) + "; peers: " + ", ".join(PEERS),
    )
    ap.add_argument("--cases", default="all", help="comma-separated case names, or all")
    ap.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    ap.add_argument("--duration", type=int, default=10, help="seconds per measured run (<= 30)")
    ap.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per case")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument(
        "--peers",
        default=None,
        help="peer cases to run (A1,A5,L5); default: those the cases compare with",
    )
    ap.add_argument("--no-peers", action="store_true", help="skip the peer servers")
    ap.add_argument(
        "--peers-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "peers",
        help="a set-up copy of the peer harness (default: %(default)s)",
    )
    ap.add_argument(
        "--refresh-pool-rate",
        type=int,
        default=0,
        help="refresh tokens per second of run (default 4000 SQLite, 3000 PG)",
    )
    ap.add_argument("--argon2-seconds", type=float, default=5.0)
    ap.add_argument("--write", type=Path, help="write a markdown report, e.g. docs/PERFORMANCE.md")
    ap.add_argument(
        "--py-spy",
        help="py-spy binary: profile the 1-worker authority cases "
        "(figures then carry the profiler's cost)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the temp dir and PG schema")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument(
        "--report-from",
        type=Path,
        metavar="RESULTS_JSON",
        help="measure nothing: print (and --write) the report of a saved run",
    )
    ap.add_argument("--argon2-rate", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if not 1 <= args.duration <= 30:
        ap.error("--duration must be 1..30 seconds")
    if not 0 <= args.warmup <= 10:
        ap.error("--warmup must be 0..10 seconds")
    return args


def select_cases(args: argparse.Namespace) -> list[Case]:
    if args.cases == "all":
        return list(CASES)
    wanted = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in CASE_NAMES]
    if unknown:
        sys.exit(f"unknown case(s): {', '.join(unknown)}; known: {', '.join(CASE_NAMES)}")
    return [c for c in CASES if c.name in wanted]


def select_peers(args: argparse.Namespace, cases: list[Case]) -> list[str]:
    if args.no_peers:
        return []
    if args.peers is not None:
        peers = [p.strip() for p in args.peers.split(",") if p.strip()]
        unknown = [p for p in peers if p not in PEERS]
        if unknown:
            sys.exit(f"unknown peer case(s): {', '.join(unknown)}; known: {', '.join(PEERS)}")
        return peers
    needed = {p for c in cases if c.pinned for p in PEERS_FOR.get(c.kind, ())}
    return [p for p in PEERS if p in needed]


def preflight(dbs: list[str], peers: list[str], peers_dir: Path) -> None:
    problems = []
    if shutil.which("wrk") is None:
        problems.append("wrk is missing: install it with `apt-get install -y wrk` (Debian)")
    if shutil.which("taskset") is None:
        problems.append("taskset is missing (util-linux)")
    if (os.cpu_count() or 1) < 2:
        problems.append("the pinned layout needs 2 CPUs (server on core 0, wrk on core 1)")
    if peers:
        need = [
            peers_dir / "node_modules" / "oidc-provider",
            peers_dir / ".venv" / "bin" / "uvicorn",
            peers_dir / "oidc" / "provider.mjs",
            peers_dir / "asgi" / "app.py",
        ]
        if any(not p.exists() for p in need) or shutil.which("node") is None:
            problems.append(
                f"the peer harness is not set up in {peers_dir}: copy the peers folder there "
                "and run its ./setup.sh once (or pass --no-peers)"
            )
    if "postgres" in dbs:
        try:
            with pg_connect() as conn:
                conn.execute("SELECT 1")
        except Exception as exc:
            problems.append(
                f"PostgreSQL at 127.0.0.1:5432 (database test) is not reachable: "
                f"{exc.__class__.__name__}; start it or pass --db sqlite"
            )
    if problems:
        sys.exit("cannot run the benchmark:\n  " + "\n  ".join(problems))


def report_from(path: Path, write: Path | None) -> int:
    """Re-render a saved run: the checks are recomputed from its rows."""
    result = json.loads(path.read_text())
    keys = ("id", "system", "db", "label", "layout")
    rows = [
        Row(*(r[k] for k in keys), data={k: v for k, v in r.items() if k not in keys})
        for r in result["rows"]
    ]
    result["checks"] = checks(rows, result["options"]["connections"])
    if result.get("interrupted"):
        result["checks"].append(
            {
                "check": "run complete",
                "target": "yes",
                "measured": result["interrupted"],
                "verdict": "MISSED",
            }
        )
    print_summary(result, rows)
    if write:
        write_report(write, result, rows)
        print(f"wrote {write}")
    return 0


def _terminate(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.argon2_rate is not None:
        print(json.dumps(argon2_rate(args.argon2_rate)))
        return 0
    if args.report_from is not None:
        return report_from(args.report_from, args.write)
    cases = select_cases(args)
    if args.list:
        for c in CASES:
            layout = "1 w, core 0" if c.pinned else "2 w, shared"
            print(f"{c.name:26} {layout:12} {c.label}")
        for p, label in PEERS.items():
            print(f"{p:26} {'1 w, core 0':12} {label}")
        return 0
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    if not dbs or any(d not in ("sqlite", "postgres") for d in dbs):
        sys.exit("--db takes sqlite, postgres or sqlite,postgres")
    peers = select_peers(args, cases)
    peers_dir = args.peers_dir.resolve()
    preflight(dbs, peers, peers_dir)
    authority_bin()

    run_id = time.strftime("%Y%m%d-%H%M%S")
    run_dir = RESULTS / run_id
    run_dir.mkdir(parents=True)
    opts = Options(
        args.duration, args.warmup, args.connections, run_dir, args.py_spy, args.argon2_seconds
    )
    command = shlex.join(
        [os.path.relpath(sys.executable), os.path.relpath(sys.argv[0]), *sys.argv[1:]]
    )
    result: dict[str, Any] = {
        "run_id": run_id,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": command,
        "options": {
            "cases": [c.name for c in cases],
            "db": dbs,
            "peers": peers,
            "duration": args.duration,
            "warmup": args.warmup,
            "connections": args.connections,
            "peers_dir": str(peers_dir),
            "argon2_seconds": args.argon2_seconds,
            "refresh_pool_rate": args.refresh_pool_rate or "4000 SQLite, 3000 PostgreSQL",
            "py_spy": bool(args.py_spy),
        },
        "machine": machine(peers_dir if peers else None, "postgres" in dbs),
    }
    print(
        f"# run {run_id}: {len(cases)} case(s) x {', '.join(dbs)}; peers: "
        f"{', '.join(peers) or 'none'}; wrk -c{args.connections} -d{args.duration}s "
        f"(warm-up {args.warmup} s); load {' '.join(result['machine']['loadavg_start'])}",
        flush=True,
    )

    placement = PostgresPlacement()
    if "postgres" in dbs:
        problem = placement.prepare()
        print(f"# {placement.describe()}", flush=True)
        result["placement"] = {
            "pinned": problem is None,
            "detail": placement.describe(),
            "original": cpu_list(placement.base) if problem is None else "-",
        }

    signal.signal(signal.SIGTERM, _terminate)
    work = Path(tempfile.mkdtemp(prefix="authority-bench-"))
    targets: list[Target] = []
    rows: list[Row] = []
    interrupted = ""
    try:
        for peer in peers:
            rows.append(peer_case(peer, peers_dir, opts))
        for db in dbs:
            target = make_target(db, work)
            targets.append(target)
            provision(target)
            rate = args.refresh_pool_rate or (4000 if db == "sqlite" else 3000)
            neighbour = placement.neighbour() if db == "postgres" else None
            for case in cases:
                pin = neighbour is not None and case.pinned
                with placement.during() if pin else contextlib.nullcontext():
                    rows.append(authority_case(target, case, opts, rate, neighbour))
    except KeyboardInterrupt:
        interrupted = "interrupted"
        print("\ninterrupted: stopping every server", file=sys.stderr, flush=True)
    except Exception as exc:  # report what was measured, after cleaning up
        interrupted = f"aborted: {exc.__class__.__name__}: {exc}"[:300]
        traceback.print_exc()
    finally:
        placement.restore()  # (``during`` has done it already, unless something went wrong)
        stop_everything()
        for target in targets:
            if not args.keep:
                with contextlib.suppress(Exception):
                    drop_target(target)
        if args.keep:
            print(f"kept {work}" + "".join(f", schema {t.schema}" for t in targets if t.schema))
        else:
            shutil.rmtree(work, ignore_errors=True)

    result["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    result["machine"]["code_end"] = code_fingerprint()
    result["checks"] = checks(rows, args.connections)
    if interrupted:
        result["interrupted"] = interrupted
        result["checks"].append(
            {"check": "run complete", "target": "yes", "measured": interrupted, "verdict": "MISSED"}
        )
    result["rows"] = [
        {"id": r.id, "system": r.system, "db": r.db, "label": r.label, "layout": r.layout, **r.data}
        for r in rows
    ]
    (RESULTS / f"{run_id}.json").write_text(json.dumps(result, indent=2))

    print_summary(result, rows)
    print(
        f"\nraw results: {os.path.relpath(RESULTS / f'{run_id}.json')} and "
        f"{os.path.relpath(run_dir)}/"
    )
    if args.write and not interrupted:
        write_report(args.write, result, rows)
        print(f"wrote {args.write}")
    return (130 if interrupted == "interrupted" else 1) if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
