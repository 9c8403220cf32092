#!/usr/bin/env python3
"""The token endpoint benchmark: one ``authority serve`` per case, loaded by wrk on loopback.

For each database (a fresh SQLite file, a fresh PostgreSQL schema) it provisions through the CLI
(bench/cases.py), then for each case starts ``authority serve`` on a free 127.0.0.1 port in its
own process group, sends one sanity request, warms up, waits for the server to go idle and
measures with wrk and a script of bench/wrk/: req/s, p50/p90/p99 latency, the server's CPU time
per request and each worker's RSS. The password case also measures the raw argon2id verify rate.

Regenerate docs/PERFORMANCE.md, from a clean checkout of the commit to measure, on a quiet
machine of 2 or more cores (about 10 minutes; `apt-get install wrk`; the peer harness set up in
/tmp/peers as bench/peers.py says):

    .venv/bin/python bench/run.py --db sqlite,postgres --pin --peers --report docs/PERFORMANCE.md

Other uses:

    .venv/bin/python bench/run.py --list                  # the cases
    .venv/bin/python bench/run.py --duration 2 --cases client_credentials --db sqlite \\
        --report /tmp/perf.md --allow-dirty                # a quick check while working

``--pin`` places the server on core 0 and wrk (and a local PostgreSQL) on core 1
(bench/placement.py); ``--peers [DIR]`` also measures oidc-provider and the bare Starlette
ceiling (bench/peers.py) and implies ``--pin``. ``--report`` refuses a tree with uncommitted
changes unless ``--allow-dirty``, which the report then states. Targets: bench/targets.toml.
Raw results: bench/results/RUN.json, wrk outputs and server logs in bench/results/RUN/.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the ``bench`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report
from bench.cases import (
    CASES,
    PREPARE,
    STANDARD,
    Case,
    Run,
    Setup,
    argon2_rate,
    provision,
    scraped,
)
from bench.common import HERE, Server, authority_serve, free_port, fresh_database, pg_connect
from bench.load import Load, parse_wrk, run_wrk
from bench.placement import Pinned, Placement, core_busy

RESULTS = HERE / "results"
Row = dict[str, Any]


@dataclass(frozen=True)
class Options:
    run: Run
    connections: int
    argon2_seconds: float
    placement: Placement


def measure(
    row: Row,
    server: Server,
    port: int,
    prepare: Callable[[int], tuple[Load, str]],
    opts: Options,
    ready: str | None = "/readyz",
) -> Row:
    """One case on a started server: sanity, warm-up, idle wait, measured run; then stops it."""
    workers, run = server.workers, opts.run
    wrk = opts.placement.wrk_prefix(workers)
    row["server_cmd"] = shlex.join(server.argv)
    try:
        server.wait_ready(port, ready)
        row["rss_start_mb"] = server.rss_mb()
        load, row["came_back"] = prepare(port)
        if run.warmup:
            run_wrk(wrk + load.argv(port, run.warmup, workers, opts.connections, True), run.warmup)
            row["drain_s"] = drain(server)
        argv = wrk + load.argv(port, run.duration, workers, opts.connections, False)
        row.update(window(server, argv, opts, run.dir / f"{tag(row)}.wrk.txt"))
        row["rss_mb"] = server.rss_mb()
        row["unexpected"] = load.unexpected(row)
        row["ok"] = bool(row.get("rps")) and row["unexpected"] == 0
    except Exception as exc:
        row.update(ok=False, error=f"{exc.__class__.__name__}: {exc}"[:300])
    finally:
        row["stopped"] = server.stop()
    print(one_line(row), flush=True)
    return row


def tag(row: Row) -> str:
    """The name of a case's files in the run's directory."""
    name = f"{row['db']}-{row['case']}" if row["db"] != "-" else f"peer-{row['case']}"
    return name + (f"-{row['round']}" if row.get("round") else "")


def window(server: Server, argv: list[str], opts: Options, out: Path) -> Row:
    """The measured wrk run, and the server's CPU (and its core's) over it."""
    cores, cpu, start = core_busy(), server.cpu_seconds(), time.monotonic()
    text = run_wrk(argv, opts.run.duration)
    wall, used = time.monotonic() - start, server.cpu_seconds() - cpu
    out.write_text(text)
    found = parse_wrk(text)
    found["wrk_cmd"] = shlex.join(argv)
    found["server_cpu_cores"] = round(used / wall, 2)
    if found["requests"]:
        found["cpu_ms_per_req"] = round(1000 * used / found["requests"], 3)
    if opts.placement.pinned and server.workers == 1:  # what else ran on the server's core
        found["core0_other"] = round(max(0.0, (core_busy()[0] - cores[0] - used) / wall), 2)
    return found


def drain(server: Server, limit: float = 15.0) -> float:
    """Wait until the server is idle (the warm-up's queue is done); seconds waited."""
    start, before = time.monotonic(), server.cpu_seconds()
    while time.monotonic() - start < limit:
        time.sleep(0.3)
        now = server.cpu_seconds()
        if now - before < 0.015:
            break
        before = now
    return round(time.monotonic() - start, 2)


def one_line(row: Row) -> str:
    head = f"{row['db']:8} {row['case']:26}"
    if not row.get("ok"):
        return f"{head} FAILED {row.get('error', '')} unexpected {row.get('unexpected')}"
    return (
        f"{head} {row['rps']:9.1f} req/s  p50 {row['p50_ms']:7.2f} ms  p99 {row['p99_ms']:7.2f}"
        f" ms  cpu/req {row.get('cpu_ms_per_req', 0):.3f} ms  rss {row['rss_mb']} MB"
        f"  [{row['came_back']}]"
    )


def median_rows(rows: list[Row], cases: list[Case]) -> list[Row]:
    """One row per case: the one of median req/s over the rounds (failed rounds count as 0),
    with every round's req/s in ``rounds_rps``; a single round's row as it is."""
    out = []
    for case in cases:
        mine = [r for r in rows if r["case"] == case.name]
        if len(mine) == 1:
            out.append(mine[0])
            continue
        ranked = sorted(mine, key=lambda r: r.get("rps") or 0.0 if r.get("ok") else 0.0)
        pick = dict(ranked[(len(ranked) - 1) // 2])
        pick["rounds_rps"] = [r.get("rps") if r.get("ok") else None for r in mine]
        out.append(pick)
    return out


def authority_case(setup: Setup, case: Case, opts: Options, round_: int = 0) -> Row:
    layout = "1 worker" if case.workers == 1 else f"{case.workers} workers"
    pinned = opts.placement.pinned and case.workers == 1
    row: Row = {"case": case.name, "db": setup.db.kind, "label": case.label, "round": round_}
    row["layout"] = layout + (", core 0" if pinned else "")
    if case.kind == "password" and not case.env:  # the raw rate, on the server's core, before it
        with opts.placement.on_server_core():
            row["baseline"] = {"argon2": argon2_rate(opts.argon2_seconds)}
    port = free_port()
    log = opts.run.dir / f"{tag(row)}.server.log"
    prefix = tuple(opts.placement.server_prefix(case.workers))
    algs = {"AUTHORITY_ACCESS_TOKEN_ALG": case.alg, "AUTHORITY_ID_TOKEN_ALG": case.id_alg}
    # Every case but the observed ones runs without the audit trail (on by default), so that
    # an observed case and its plain twin differ by metrics and audit both.
    env = {"AUTHORITY_AUDIT": "off", **dict(case.env)}
    server = authority_serve(setup.db, port, log, case.workers, prefix, **algs, **env)

    def prepare(p: int) -> tuple[Load, str]:
        load, came_back = PREPARE[case.kind](setup, case, p, opts.run, row)
        return load, scraped(p, came_back) if case.observed else came_back

    return measure(row, server, port, prepare, opts)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        epilog="cases: " + ", ".join(c.name for c in CASES),
    )
    ap.add_argument("--cases", default=",".join(STANDARD), help="comma-separated, or all")
    ap.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    ap.add_argument("--duration", type=int, default=10, help="seconds per measured run (1..60)")
    ap.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per case")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every case this many times (every other round in reverse order) and "
        "report the round of median req/s: for a busy machine",
    )
    ap.add_argument("--pin", action="store_true", help="server on core 0, wrk on core 1")
    ap.add_argument(
        "--peers",
        nargs="?",
        type=Path,
        const=Path(tempfile.gettempdir()) / "peers",
        help="also measure the peers, from a set-up peer harness (default: %(const)s)",
    )
    ap.add_argument(
        "--refresh-pool-rate",
        type=int,
        default=4000,
        help="refresh tokens (and codes) made per second of run; a pool that runs dry shows as "
        "unexpected answers",
    )
    ap.add_argument("--argon2-seconds", type=float, default=5.0)
    ap.add_argument("--report", type=Path, help="write the markdown report, e.g. docs/...")
    ap.add_argument("--allow-dirty", action="store_true", help="report from uncommitted changes")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    args = ap.parse_args(argv)
    if not 1 <= args.duration <= 60 or not 0 <= args.warmup <= 10 or not 1 <= args.rounds <= 9:
        ap.error("--duration takes 1..60 seconds, --warmup 0..10, --rounds 1..9")
    return args


def select(args: argparse.Namespace) -> tuple[list[Case], list[str]]:
    wanted = {c.strip() for c in args.cases.split(",")} - {""}
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    unknown = wanted - {c.name for c in CASES} - {"all"}
    if unknown or not dbs or set(dbs) - {"sqlite", "postgres"}:
        sys.exit(f"unknown case or database: {', '.join(sorted(unknown)) or args.db} (see --list)")
    return [c for c in CASES if "all" in wanted or c.name in wanted], dbs


def preflight(args: argparse.Namespace, dbs: list[str], tree: dict[str, Any]) -> None:
    problems = []
    if args.report and tree["dirty"] and not args.allow_dirty:
        problems.append(
            f"the tree has uncommitted changes ({', '.join(tree['dirty'][:5])}): commit them, "
            "or pass --allow-dirty (the report will say so)"
        )
    if shutil.which("wrk") is None:
        problems.append("wrk is missing: `apt-get install wrk`")
    if (args.pin or args.peers) and (shutil.which("taskset") is None or (os.cpu_count() or 1) < 2):
        problems.append("pinning needs taskset and 2 cores")
    if args.peers:
        from bench import peers

        problems += peers.problems(args.peers)
    if "postgres" in dbs:
        try:
            with pg_connect() as conn:
                conn.execute("SELECT 1")
        except Exception as exc:
            problems.append(f"PostgreSQL on 127.0.0.1:5432 (db test): {exc!r}; or --db sqlite")
    if problems:
        sys.exit("cannot run the benchmark:\n  " + "\n  ".join(problems))


def peer_rows(home: Path, opts: Options) -> list[Row]:
    from bench import peers

    rows = []
    for name, peer in peers.PEERS.items():
        row: Row = {"case": name, "db": "-", "label": peer.label, "layout": "1 worker, core 0"}
        port = free_port()
        log = opts.run.dir / f"{tag(row)}.server.log"
        with tempfile.TemporaryDirectory(prefix="authority-bench-peer-") as work:
            server = peer.start(home, Path(work), port, log, opts.placement.server_prefix(1))
            rows.append(measure(row, server, port, peer.prepare, opts, ready=None))
    return rows


def run_all(cases: list[Case], dbs: list[str], args: argparse.Namespace, opts: Options) -> Any:
    """Every case on every database, then the peers: the rows, and what stopped the run if any."""
    rows: list[Row] = []
    try:
        with tempfile.TemporaryDirectory(prefix="authority-bench-") as work:
            for db in dbs:
                with fresh_database(db, Path(work)) as database:
                    setup = provision(database)
                    measured: list[Row] = []
                    for round_ in range(args.rounds):
                        # Every other round backwards: a drift over the run (a database that
                        # grows, a neighbour that gets busy) weighs on no case more than another.
                        for case in cases if round_ % 2 == 0 else cases[::-1]:
                            with opts.placement.case(db, case.workers):
                                row = authority_case(setup, case, opts, round_)
                            measured.append(row)
                    rows += median_rows(measured, cases)
        if args.peers:
            rows += peer_rows(args.peers, opts)
    except KeyboardInterrupt:
        return rows, "interrupted"
    except Exception as exc:  # report what was measured
        traceback.print_exc()
        return rows, f"aborted: {exc.__class__.__name__}: {exc}"[:300]
    return rows, ""


def _terminate(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cases, dbs = select(args)
    if args.list:
        print("\n".join(f"{c.name:26} {c.label}" for c in CASES))
        return 0
    tree = report.tree_state()
    preflight(args, dbs, tree)
    placement = Pinned() if args.pin or args.peers else Placement()
    run_id = time.strftime("%Y%m%d-%H%M%S")
    run = Run(args.duration, args.warmup, RESULTS / run_id, args.refresh_pool_rate)
    run.dir.mkdir(parents=True)
    opts = Options(run, args.connections, args.argon2_seconds, placement)
    machine = report.machine(dbs)
    if args.peers:
        from bench import peers

        machine |= peers.versions(args.peers)
    argv0 = [os.path.relpath(sys.executable), os.path.relpath(sys.argv[0])]
    result: dict[str, Any] = {
        "run_id": run_id,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": shlex.join([*argv0, *sys.argv[1:]]),
        "tree": tree,
        "machine": machine,
        "placement": placement.describe(),
        "options": {
            "db": dbs,
            "duration": args.duration,
            "warmup": args.warmup,
            "connections": args.connections,
            "rounds": args.rounds,
        },
    }
    print(f"# run {run_id} from {tree['commit'][:12]}; {placement.describe()}", flush=True)
    signal.signal(signal.SIGTERM, _terminate)
    result["rows"], result["interrupted"] = run_all(cases, dbs, args, opts)
    result["targets"] = report.target_rows(result["rows"], dbs, {c.name for c in CASES})
    result["tree_end"] = report.tree_state()
    result["load_end"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    (RESULTS / f"{run_id}.json").write_text(json.dumps(result, indent=2))
    text = report.render(result)
    print("\n" + text.split("## Results", 1)[1])
    if args.report and not result["interrupted"]:
        args.report.write_text(text)
        print(f"wrote {args.report}")
    return 1 if result["interrupted"] else 0


if __name__ == "__main__":
    sys.exit(main())
