"""CPU placement, used with ``run.py --pin`` (and ``--peers``): a one-worker server on core 0,
wrk on core 1, and for the PostgreSQL cases the local PostgreSQL server's processes on core 1
too, so that its backends do not take the server's core.

Pinning PostgreSQL sets the affinity of every thread of the postmaster and of its children, like
``taskset -a -p -c 1 PID`` (new backends inherit the postmaster's); the masks read before are put
back after each case, with SIGINT and SIGTERM held back, and at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

SERVER_CORE, LOAD_CORE = 0, 1


def core_busy() -> dict[int, float]:
    """Busy seconds of each CPU since boot (/proc/stat: all but idle and iowait)."""
    busy = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name.startswith("cpu") and name[3:].isdigit():
            ticks = [int(v) for v in values[:8]]
            busy[int(name[3:])] = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    return busy


class Placement:
    """Nothing pinned: the server, wrk and the database share every core."""

    pinned = False

    def server_prefix(self, workers: int) -> list[str]:
        return []

    def wrk_prefix(self, workers: int) -> list[str]:
        return []

    @contextlib.contextmanager
    def case(self, db: str, workers: int) -> Iterator[None]:
        yield

    @contextlib.contextmanager
    def on_server_core(self) -> Iterator[None]:
        yield

    def describe(self) -> str:
        return "nothing pinned: the server, wrk and the database share the machine's cores"


class Pinned(Placement):
    """A one-worker server on core 0; wrk (and PostgreSQL, when it is local) on core 1. A server
    of several workers is not pinned: it and wrk share the cores."""

    pinned = True

    def __init__(self) -> None:
        self.postmaster = find_postmaster()
        self.saved: dict[int, set[int]] = {}
        atexit.register(self.restore)

    def server_prefix(self, workers: int) -> list[str]:
        return ["taskset", "-c", str(SERVER_CORE)] if workers == 1 else []

    def wrk_prefix(self, workers: int) -> list[str]:
        return ["taskset", "-c", str(LOAD_CORE)] if workers == 1 else []

    @contextlib.contextmanager
    def case(self, db: str, workers: int) -> Iterator[None]:
        if db == "postgres" and workers == 1 and self.postmaster:
            self.pin_postgres()
        try:
            yield
        finally:
            self.restore()

    @contextlib.contextmanager
    def on_server_core(self) -> Iterator[None]:
        """This thread on the server's core (the raw argon2id rate is measured there)."""
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {SERVER_CORE})
        try:
            yield
        finally:
            os.sched_setaffinity(0, before)

    def describe(self) -> str:
        text = (
            f"1-worker servers `taskset -c {SERVER_CORE}`, wrk `taskset -c {LOAD_CORE}`; "
            "servers of 2 workers and their wrk are not pinned"
        )
        if self.postmaster is None:
            return text + "; PostgreSQL not pinned (no local postmaster found)"
        return text + f"; PostgreSQL (postmaster {self.postmaster}) on core {LOAD_CORE} too"

    def pin_postgres(self) -> None:
        assert self.postmaster is not None
        for pid in [self.postmaster, *_children(self.postmaster)]:  # the postmaster first
            with contextlib.suppress(OSError):
                self.saved[pid] = os.sched_getaffinity(pid)
                _set_all_threads(pid, {LOAD_CORE})

    def restore(self) -> None:
        if not self.saved or self.postmaster is None:
            return
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            default = self.saved.get(self.postmaster, set(range(os.cpu_count() or 1)))
            for pid in [self.postmaster, *_children(self.postmaster)]:
                _set_all_threads(pid, self.saved.get(pid, default))
            self.saved = {}
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)


def find_postmaster() -> int | None:
    """The postmaster of the cluster on port 5432 (pg_lsclusters), else the oldest `postgres`."""
    with contextlib.suppress(OSError, subprocess.SubprocessError, ValueError, IndexError):
        out = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True)
        for fields in (line.split() for line in out.stdout.splitlines()):
            if len(fields) >= 6 and fields[2] == "5432" and fields[3] == "online":
                return int((Path(fields[5]) / "postmaster.pid").read_text().split()[0])
    with contextlib.suppress(OSError, subprocess.SubprocessError, ValueError):
        out = subprocess.run(["pgrep", "-o", "-x", "postgres"], capture_output=True, text=True)
        return int(out.stdout)
    return None


def _children(ppid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError):
            stat = (entry / "stat").read_text()
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == ppid:
                kids.append(int(entry.name))
    return kids


def _set_all_threads(pid: int, cpus: set[int]) -> None:
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(task.name), cpus)
