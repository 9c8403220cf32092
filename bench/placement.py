"""PostgreSQL placement: for the pinned PostgreSQL cases the PostgreSQL server's processes go to
wrk's core (core 1), so that its backends do not take the authority server's core (core 0).

The postmaster is found through ``pg_lsclusters`` (the cluster on the benchmark's port), the
clusters' ``postmaster.pid`` files, or ``pgrep -o -x postgres``. Pinning sets the CPU affinity of
every thread of the postmaster and of each of its children, like ``taskset -a -p -c 1 PID``: new
backends inherit the postmaster's affinity. Restoring puts back the masks read before pinning
(the postmaster's for processes started since). Restoring is idempotent, runs with SIGINT and
SIGTERM held back, and the caller runs it in ``finally`` (and at exit).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.constants import PG_BASE_URL
from bench.measure import Neighbour
from bench.processes import process_cpu

CORE = 1  # wrk's core


def cpu_list(cpus: set[int]) -> str:
    """``{0, 1, 3}`` as ``0-1,3``."""
    runs: list[list[int]] = []
    for cpu in sorted(cpus):
        if runs and runs[-1][1] == cpu - 1:
            runs[-1][1] = cpu
        else:
            runs.append([cpu, cpu])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _pid_from_file(path: Path) -> int | None:
    try:
        first = path.read_text().splitlines()[0].strip()
    except (OSError, IndexError):
        return None
    return int(first) if first.isdigit() else None


def find_postmaster() -> tuple[int | None, str]:
    """The postmaster of the server the benchmark connects to, and how it was found."""
    port = str(urlsplit(PG_BASE_URL.replace("+psycopg", "")).port or 5432)
    candidates: list[tuple[Path, str]] = []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            ["pg_lsclusters", "--no-header"], capture_output=True, text=True, timeout=10
        )
        for line in out.stdout.splitlines():
            fields = line.split()  # version cluster port status owner datadir logfile
            if len(fields) >= 6 and fields[2] == port and fields[3].startswith("online"):
                candidates.append((Path(fields[5]) / "postmaster.pid", "pg_lsclusters"))
    candidates += [
        (p, "postmaster.pid") for p in sorted(Path("/var/lib/postgresql").glob("*/main/*.pid"))
    ]
    for path, how in candidates:
        pid = _pid_from_file(path)
        if pid and _comm(pid) in ("postgres", "postmaster"):
            return pid, f"{how} ({path})"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            ["pgrep", "-o", "-x", "postgres"], capture_output=True, text=True, timeout=10
        )
        if out.stdout.strip().isdigit():
            return int(out.stdout.strip()), "pgrep -o -x postgres"
    return None, "no running PostgreSQL server found (pg_lsclusters, postmaster.pid, pgrep)"


def _children(ppid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == ppid:
            kids.append(int(entry.name))
    return sorted(kids)


def _tasks(pid: int) -> list[int]:
    try:
        return [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]
    except OSError:
        return []


def _set(pid: int, cpus: set[int]) -> bool:
    """Every thread of ``pid`` to ``cpus`` (``taskset -a -p``); False when it is gone."""
    done = False
    for tid in _tasks(pid):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(tid, cpus)
            done = True
    return done


class PostgresPlacement:
    """Pins a local PostgreSQL server's processes to one core and puts them back."""

    def __init__(self, core: int = CORE) -> None:
        self.core = core
        self.postmaster: int | None = None
        self.base: set[int] = set()  # the postmaster's CPUs when it was found
        self.original: dict[int, set[int]] = {}
        self.pinned = False
        self.problem = ""
        self.found = ""
        atexit.register(self.restore)

    def prepare(self) -> str | None:
        """Find the postmaster and check that it may be pinned; the reason when not."""
        if self.core >= (os.cpu_count() or 1):
            self.problem = f"this machine has no core {self.core}"
            return self.problem
        pid, how = find_postmaster()
        if pid is None:
            self.problem = how
            return how
        try:
            mask = os.sched_getaffinity(pid)
            os.sched_setaffinity(pid, mask)  # a no-op that fails without the right to pin
        except PermissionError:
            self.problem = (
                f"no permission to set the CPU affinity of PostgreSQL (postmaster {pid}): "
                "run as root or as the PostgreSQL user"
            )
            return self.problem
        except OSError as exc:
            self.problem = f"cannot read the CPU affinity of postmaster {pid}: {exc.strerror}"
            return self.problem
        self.postmaster, self.found, self.base = pid, how, set(mask)
        return None

    def describe(self) -> str:
        if self.postmaster is None:
            return f"PostgreSQL not pinned: {self.problem}"
        text = (
            f"PostgreSQL postmaster {self.postmaster} (found by {self.found}), CPUs "
            f"{cpu_list(self.base)}: pinned to core {self.core} for the 1-worker PostgreSQL "
            "cases, then given back its CPUs"
        )
        if self.base != set(range(os.cpu_count() or 1)):
            text += " (note: it did not have every CPU to begin with)"
        return text

    def neighbour(self) -> Neighbour | None:
        """PostgreSQL as the server's neighbour: its CPU, and where it ran when pinned."""
        if self.postmaster is None:
            return None
        return Neighbour("postgres", self.cpu_seconds, self.state)

    def pin(self) -> None:
        pm = self.postmaster
        if pm is None or self.pinned:
            return
        self.original = {pm: set(os.sched_getaffinity(pm))}
        self.pinned = True  # from here on, restore() has something to undo
        _set(pm, {self.core})  # first: children forked from now on inherit it
        for kid in _children(pm):
            with contextlib.suppress(ProcessLookupError):
                self.original[kid] = set(os.sched_getaffinity(kid))
                _set(kid, {self.core})

    def state(self) -> dict[str, Any]:
        """How many PostgreSQL processes sit on the pinned core now (new backends included)."""
        if self.postmaster is None or not self.pinned:
            return {}
        procs = [self.postmaster, *_children(self.postmaster)]
        on_core = 0
        for pid in procs:
            with contextlib.suppress(OSError):
                on_core += os.sched_getaffinity(pid) == {self.core}
        return {"cpus": str(self.core), "processes": len(procs), "on_core": on_core}

    def restore(self) -> None:
        pm = self.postmaster
        if pm is None or not self.pinned:
            return
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            default = self.original.get(pm) or set(range(os.cpu_count() or 1))
            _set(pm, default)  # first: no child forked from now on is pinned
            for kid in _children(pm):
                _set(kid, self.original.get(kid, default))
            self.pinned = False
            self.original = {}
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    @contextlib.contextmanager
    def during(self) -> Iterator[None]:
        self.pin()
        try:
            yield
        finally:
            self.restore()

    def cpu_seconds(self) -> float:
        """CPU time of the postmaster, of its live children (every client's backends), and of
        the children that have exited (backends of connections that were closed)."""
        if self.postmaster is None:
            return 0.0
        live = sum(process_cpu(p) for p in _children(self.postmaster))
        return process_cpu(self.postmaster, reaped=True) + live
