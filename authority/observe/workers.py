"""The folder in which the workers of ``authority serve --workers N`` share their metrics
(prometheus-client's multiprocess mode): made by the supervisor before its workers start,
named to them in PROMETHEUS_MULTIPROC_DIR, and removed when it stops.

This module does not import prometheus-client at its top: the supervisor imports it before
it sets the variable, and prometheus-client reads the variable once, when first imported.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
FOLDER_PREFIX = "authority-metrics-"


def shared_directory() -> str | None:
    """The folder this process's metrics go to, or None: they stay in its memory."""
    return os.environ.get(VARIABLE) or None


@contextlib.contextmanager
def shared_metrics(workers: int) -> Iterator[str | None]:
    """For the supervisor of ``workers`` processes, around their whole life: with several, a
    new private folder (0700, in the temporary directory) named in PROMETHEUS_MULTIPROC_DIR,
    which the workers inherit, and removed at the end; with one, none.

    A folder the variable named before is never used: the counts of another run (or of
    another program) would be added to ours. Folders that supervisors killed before they
    could remove their own left behind are removed first."""
    os.environ.pop(VARIABLE, None)
    if workers <= 1:
        yield None
        return
    _remove_abandoned()
    path = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-")
    os.environ[VARIABLE] = path
    try:
        yield path
    finally:
        os.environ.pop(VARIABLE, None)
        shutil.rmtree(path, ignore_errors=True)


def worker_gone(pid: int) -> None:
    """A worker died or was replaced: its gauges (pool, argon2 queue) leave the sums. Its
    counts stay, as a counter never goes back."""
    path = shared_directory()
    if path is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]  # untyped there


def _remove_abandoned() -> None:
    for folder in Path(tempfile.gettempdir()).glob(FOLDER_PREFIX + "*"):
        pid = folder.name.removeprefix(FOLDER_PREFIX).partition("-")[0]
        try:
            ours = folder.is_dir() and not folder.is_symlink()
            ours = ours and folder.stat().st_uid == os.getuid()
        except OSError:
            continue
        if ours and pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
