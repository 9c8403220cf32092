"""Server processes: each in its own session (PID = PGID), stopped by its group; CPU time,
per-core busy time and RSS from /proc; free loopback ports."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import time
from pathlib import Path

from bench.constants import HOST

RUNNING: dict[int, subprocess.Popen[bytes]] = {}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_group(proc: subprocess.Popen[bytes]) -> bool:
    """SIGTERM to the group, SIGKILL after 10 s; True when nothing of it is left."""
    pgid = proc.pid
    if group_alive(pgid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        proc.wait(timeout=5)
    deadline = time.monotonic() + 10
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if group_alive(pgid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        time.sleep(0.2)
    RUNNING.pop(pgid, None)
    return not group_alive(pgid)


def stop_everything() -> None:
    for proc in list(RUNNING.values()):
        stop_group(proc)


def _proc_stat(pid: str) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # after "comm)": state ppid pgrp ... utime(14) stime(15) -> indices 11, 12
    return stat[stat.rindex(")") + 2 :].split()


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _proc_stat(entry.name)
            if fields is not None and int(fields[2]) == pgid:
                pids.append(int(entry.name))
    return sorted(pids)


def process_cpu(pid: int, reaped: bool = False) -> float:
    """utime + stime in seconds of one process (0 when it is gone); with ``reaped``, also
    the CPU time of the children it has waited for (cutime + cstime)."""
    fields = _proc_stat(str(pid))
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    """utime + stime in seconds of this process's children that have been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def group_cpu(pgid: int) -> float:
    """utime + stime in seconds of every live process of the group."""
    return sum(process_cpu(pid) for pid in group_pids(pgid))


def core_busy() -> dict[int, float]:
    """Busy seconds of each CPU since boot (/proc/stat: everything but idle and iowait)."""
    tck = os.sysconf("SC_CLK_TCK")
    busy = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name.startswith("cpu") and name[3:].isdigit():
            ticks = [int(v) for v in values[:8]]
            busy[int(name[3:])] = (sum(ticks) - ticks[3] - ticks[4]) / tck
    return busy


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def worker_pids(pgid: int, workers: int) -> list[int]:
    """The processes that serve requests: the leader, or uvicorn's spawned workers."""
    if workers == 1:
        return [pgid]
    return [p for p in group_pids(pgid) if "spawn_main" in cmdline(p)]


def drain(pgid: int, limit: float = 15.0) -> float:
    """Wait until the server is idle (queued work of the warm-up is done); seconds waited."""
    start = time.monotonic()
    before = group_cpu(pgid)
    while time.monotonic() - start < limit:
        time.sleep(0.3)
        now = group_cpu(pgid)
        if now - before < 0.3 * 0.05:
            break
        before = now
    return time.monotonic() - start
