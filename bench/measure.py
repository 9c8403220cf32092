"""One measured case: start a server, sanity request, warm-up, idle wait, the measured wrk run,
CPU and RSS accounting, stop; and the optional py-spy profiler."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.constants import HOST, ROOT
from bench.load import Load, http, parse_wrk
from bench.processes import (
    RUNNING,
    children_cpu,
    core_busy,
    drain,
    free_port,
    group_cpu,
    rss_mb,
    stop_group,
    worker_pids,
)


@dataclass
class Neighbour:
    """A program the server leans on (PostgreSQL): its CPU over the measured window, and where
    it ran (``state``: empty when there is nothing to say)."""

    name: str
    cpu: Callable[[], float]
    state: Callable[[], dict[str, Any]] | None = None


@dataclass
class ServerSpec:
    system: str  # authority | oidc-provider | starlette
    argv: Callable[[int], list[str]]
    env: Callable[[int], dict[str, str]]
    cwd: Path
    workers: int = 1
    pinned: bool = True
    ready_path: str | None = None
    neighbour: Neighbour | None = None


@dataclass
class Options:
    duration: int
    warmup: int
    connections: int
    run_dir: Path
    py_spy: str | None = None
    argon2_seconds: float = 5.0
    verbose: bool = True


@dataclass
class Row:
    id: str
    system: str
    db: str
    label: str
    layout: str
    data: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def wait_ready(proc: subprocess.Popen[bytes], port: int, path: str | None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited at start with {proc.returncode} (see its log)")
        try:
            if path is None:
                with socket.create_connection((HOST, port), timeout=0.5):
                    return
            elif http(port, "GET", path, timeout=5)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready on port {port} after 60 s")


def run_case(
    row: Row,
    spec: ServerSpec,
    load: Load,
    sanity: Callable[[int], str],
    opts: Options,
) -> Row:
    port = free_port()
    argv = spec.argv(port)
    if spec.pinned:
        argv = ["taskset", "-c", "0", *argv]
    threads = 1 if spec.pinned else 2
    wrk_prefix = ["taskset", "-c", "1"] if spec.pinned else []
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHORITY_")}
    env.update(spec.env(port))
    tag = f"{row.db}-{row.id}" if row.db != "-" else row.id
    log_path = opts.run_dir / f"{tag}.server.log"
    data = row.data
    data["server_cmd"] = shlex.join(argv)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            argv,
            cwd=spec.cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    RUNNING[proc.pid] = proc
    try:
        wait_ready(proc, port, spec.ready_path)
        if spec.workers > 1:
            time.sleep(1.5)  # let every worker come up
        data["rss_start_mb"] = [
            round(r, 1) for r in (rss_mb(p) for p in worker_pids(proc.pid, spec.workers)) if r
        ]
        data["came_back"] = sanity(port)
        if opts.warmup > 0:
            warm = wrk_prefix + load.argv(port, opts.warmup, threads, opts.connections, True)
            subprocess.run(warm, capture_output=True, timeout=opts.warmup + 60, check=False)
            data["drain_s"] = round(drain(proc.pid), 2)
        run_argv = wrk_prefix + load.argv(port, opts.duration, threads, opts.connections, False)
        data["wrk_cmd"] = shlex.join(run_argv)
        profiler = start_profiler(proc.pid, spec, opts, tag)
        nb = spec.neighbour
        nb0 = nb.cpu() if nb else 0.0
        wrk0 = children_cpu()
        cpu0, cores0, t0 = group_cpu(proc.pid), core_busy(), time.monotonic()
        out = subprocess.run(
            run_argv, capture_output=True, text=True, timeout=opts.duration + 60, check=False
        )
        wall = time.monotonic() - t0
        cpu1, cores1 = group_cpu(proc.pid), core_busy()
        nb1 = nb.cpu() if nb else 0.0
        wrk_used = children_cpu() - wrk0  # wrk has been waited for: its time is counted
        (opts.run_dir / f"{tag}.wrk.txt").write_text(out.stdout + out.stderr)
        if out.returncode != 0:
            raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip()[:300]}")
        data.update(parse_wrk(out.stdout))
        used = cpu1 - cpu0
        data["server_cpu_cores"] = round(used / wall, 2)
        if data.get("requests"):
            data["cpu_ms_per_req"] = round(1000 * used / data["requests"], 3)
        if spec.pinned and 0 in cores0:
            # what else ran on the server's core: other processes, and softirq work
            data["core0_other"] = round(max(0.0, (cores1[0] - cores0[0] - used) / wall), 2)
        data["wrk_cpu_cores"] = round(wrk_used / wall, 2)
        neighbour_on_core1 = 0.0
        if nb is not None:
            data[f"{nb.name}_cpu_cores"] = round((nb1 - nb0) / wall, 2)
            if data.get("requests"):
                data[f"{nb.name}_cpu_ms_per_req"] = round(1000 * (nb1 - nb0) / data["requests"], 3)
            if nb.state is not None and (state := nb.state()):
                data[f"{nb.name}_placement"] = state
                neighbour_on_core1 = nb1 - nb0
        if spec.pinned and 1 in cores0:
            # wrk's core (and PostgreSQL's, when pinned): how busy, and with what else
            busy1 = cores1[1] - cores0[1]
            data["core1_busy"] = round(busy1 / wall, 2)
            other1 = busy1 - wrk_used - neighbour_on_core1
            data["core1_other"] = round(max(0.0, other1 / wall), 2)
        data["rss_mb"] = [
            round(r, 1) for r in (rss_mb(p) for p in worker_pids(proc.pid, spec.workers)) if r
        ]
        if profiler is not None:
            finish_profiler(profiler, opts, tag, data)
        data["ok"] = bool(data.get("rps")) and data["non2xx"] == 0
    except Exception as exc:
        data["ok"] = False
        data["error"] = f"{exc.__class__.__name__}: {exc}"[:500]
    finally:
        data["stopped"] = stop_group(proc)
        data["server_errors_logged"] = count_errors(log_path)
    if opts.verbose:
        print(format_row(row), flush=True)
    return row


def count_errors(path: Path) -> int:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return 0
    return sum(1 for line in text.splitlines() if " ERROR " in line or "Traceback" in line)


def format_row(row: Row) -> str:
    d = row.data
    head = f"{row.db:8} {row.id:26}"
    if not d.get("rps"):
        return f"{head} FAILED {d.get('error', '')}"
    rss = "/".join(f"{r:.0f}" for r in d.get("rss_mb", [])) or "-"
    flag = "" if d.get("ok") else f"  FAIL (non-2xx {d.get('non2xx')})"
    return (
        f"{head} {d['rps']:9.1f} req/s  p50 {d['p50_ms']:8.2f} ms  p99 {d['p99_ms']:8.2f} ms  "
        f"non-2xx {d['non2xx']}  cpu/req {d.get('cpu_ms_per_req', 0):.3f} ms  rss {rss} MB  "
        f"[{d.get('came_back', '')}]{flag}"
    )


# -- optional sampling profiler (py-spy), on wrk's core ----------------------------------------


def start_profiler(
    pid: int, spec: ServerSpec, opts: Options, tag: str
) -> subprocess.Popen[bytes] | None:
    if not opts.py_spy or spec.system != "authority" or spec.workers != 1:
        return None
    out = opts.run_dir / f"{tag}.folded"
    argv = [
        "taskset",
        "-c",
        "1",
        opts.py_spy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(opts.duration),
        "--rate",
        "250",
        "--nonblocking",
        "--format",
        "raw",
        "-o",
        str(out),
    ]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def finish_profiler(
    profiler: subprocess.Popen[bytes], opts: Options, tag: str, data: dict[str, Any]
) -> None:
    try:
        profiler.wait(timeout=30)
    except subprocess.TimeoutExpired:
        profiler.kill()
        profiler.wait()
    folded = opts.run_dir / f"{tag}.folded"
    if folded.exists():
        summary = opts.run_dir / f"{tag}.profile.txt"
        summary.write_text(summarize_folded(folded.read_text()))
        data["profile"] = str(summary.relative_to(ROOT))


def summarize_folded(text: str, top: int = 40) -> str:
    """Inclusive and self shares per function from py-spy's collapsed stacks."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return "no samples\n"
    lines = [f"{total} samples (busy threads only)", "", "inclusive:"]
    lines += [f"{100 * n / total:6.1f}%  {f}" for f, n in inclusive.most_common(top)]
    lines += ["", "self:"]
    lines += [f"{100 * n / total:6.1f}%  {f}" for f, n in own.most_common(top)]
    return "\n".join(lines) + "\n"
