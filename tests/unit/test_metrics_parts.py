"""The parts of the metrics that need no server: the client label's cap, the argon2 queue
depth, the rotation schedule, and the workers' shared folder."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import anyio
import pytest

from authority.keys.lifecycle import Timings, rotation_due_at
from authority.observe import workers
from authority.observe.metrics import OTHER, ClientLabels
from authority.runtime import _queue_depth

DAY = 86400
TIMINGS = Timings(jwks_max_age=300, access_token_ttl=900, reload_seconds=30, leeway=60)


def test_the_first_clients_are_named_and_the_rest_are_other() -> None:
    labels = ClientLabels(limit=3)
    assert [labels.label(c) for c in ("a", "b", "a", "c", "d", "e")] == [
        "a",
        "b",
        "a",
        "c",
        OTHER,
        OTHER,
    ]
    assert labels.label("b") == "b"  # a named client stays named
    assert labels.label(None) == OTHER


def test_the_argon2_queue_depth_is_what_runs_and_what_waits() -> None:
    async def main() -> tuple[int, int, int]:
        limiter = anyio.CapacityLimiter(2)
        idle = _queue_depth(limiter)
        release = anyio.Event()
        running = 0

        async def hold() -> None:
            nonlocal running
            async with limiter:
                running += 1
                await release.wait()

        async with anyio.create_task_group() as tasks:
            for _ in range(5):
                tasks.start_soon(hold)
            await anyio.wait_all_tasks_blocked()
            busy = _queue_depth(limiter)
            release.set()
        return idle, busy, _queue_depth(limiter)

    assert anyio.run(main) == (0, 5, 0)


def test_a_rotation_is_due_when_the_key_is_old_and_its_successor_published_long_enough() -> None:
    timings = Timings(**{**TIMINGS.__dict__, "rotation_days": 30})
    assert rotation_due_at(1000, 1000, timings) == 1000 + 30 * DAY
    late_successor = 1000 + 30 * DAY - 10  # published 10 s before the key is 30 days old
    assert rotation_due_at(1000, late_successor, timings) == late_successor + 390
    assert rotation_due_at(1000, None, timings) is None
    assert rotation_due_at(None, 1000, timings) is None
    assert rotation_due_at(1000, 1000, TIMINGS) is None  # rotation_days 0: never scheduled


def test_several_workers_share_a_fresh_private_folder_removed_at_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(workers.VARIABLE, "/somewhere/else")  # never used
    with workers.shared_metrics(2) as path:
        assert path is not None
        assert os.environ[workers.VARIABLE] == path == workers.shared_directory()
        folder = Path(path)
        assert folder.name.startswith(f"{workers.FOLDER_PREFIX}{os.getpid()}-")
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert list(folder.iterdir()) == []
        (folder / "counter_1.db").write_bytes(b"")
    assert not folder.exists()
    assert workers.VARIABLE not in os.environ


def test_one_worker_keeps_its_metrics_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(workers.VARIABLE, "/somewhere/else")
    with workers.shared_metrics(1) as path:
        assert path is None
        assert workers.shared_directory() is None


def test_folders_of_supervisors_no_longer_running_are_removed() -> None:
    # No process has the id pid_max: ids are allocated below it.
    dead_pid = int(Path("/proc/sys/kernel/pid_max").read_text())
    root = Path(tempfile.gettempdir())
    left = root / f"{workers.FOLDER_PREFIX}{dead_pid}-test"
    alive = root / f"{workers.FOLDER_PREFIX}{os.getppid()}-test"
    for folder in (left, alive):
        folder.mkdir(exist_ok=True)
        (folder / "counter_1.db").write_bytes(b"")
    try:
        with workers.shared_metrics(2):
            pass
        assert not left.exists()
        assert alive.exists()
    finally:
        for folder in (left, alive):
            if folder.exists():
                (folder / "counter_1.db").unlink()
                folder.rmdir()
