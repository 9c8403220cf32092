""".dockerignore, read as Docker reads it: a development checkout's state, secrets and caches
stay out of the build context, and everything the Dockerfiles copy stays in."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = [ROOT / "Dockerfile", ROOT / "examples" / "resource_api" / "Dockerfile"]


def _pattern(glob: str) -> re.Pattern[str]:
    """Go's filepath.Match as Docker extends it: ``**`` any number of folders, ``*`` and ``?``
    never a ``/``; the pattern is relative to the context's root."""
    out = ""
    for part in re.split(r"(\*\*/?|\*|\?)", glob.strip("/")):
        if part.startswith("**"):
            out += "(?:.*/)?" if part.endswith("/") else ".*"
        elif part == "*":
            out += "[^/]*"
        elif part == "?":
            out += "[^/]"
        else:
            out += re.escape(part)
    return re.compile(out)


def _rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keep = line.startswith("!")
            rules.append((keep, _pattern(line.removeprefix("!"))))
    return rules


def excluded(path: str) -> bool:
    """The last rule matching the path, or one of the folders it is in, decides."""
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for keep, rule in _rules():
        if any(rule.fullmatch(prefix) for prefix in prefixes):
            verdict = not keep
    return verdict


def copied_sources() -> list[str]:
    """Every path a COPY from the build context names, in every stage of both Dockerfiles."""
    sources = []
    for dockerfile in DOCKERFILES:
        text = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
        for line in text.splitlines():
            words = shlex.split(line.strip()) if line.strip().upper().startswith("COPY ") else []
            if words and not any(word.startswith("--from") for word in words):
                sources += [word.removeprefix("./") for word in words[1:-1]]
    return sources


@pytest.mark.parametrize(
    "path",
    [
        ".git/HEAD",
        ".venv/bin/python",
        ".env",
        "authority.db",
        "authority.db-wal",
        "authority.db-shm",
        "examples/relying_party/authority.db",
        "keys/a1b2c3.pem",
        "keys/hash.key",
        ".pytest_cache/v/cache/lastfailed",
        ".mypy_cache/3.11/authority/__init__.meta.json",
        ".ruff_cache/0.6.0/123",
        "authority/__pycache__/settings.cpython-311.pyc",
        "tests/cli/__pycache__/conftest.cpython-311-pytest-8.3.2.pyc",
        "authority.egg-info/PKG-INFO",
        "bench/results/run.json",
    ],
)
def test_local_state_secrets_and_caches_stay_out_of_the_build(path: str) -> None:
    assert excluded(path)


def test_every_file_the_dockerfiles_copy_is_sent_to_the_build() -> None:
    sources = copied_sources()
    assert {"pyproject.toml", "authority", "packaging/authority-verify", "examples"} <= set(sources)
    for source in sources:
        # The repository's files only: a checkout's own junk there is meant to stay out.
        tracked = subprocess.run(
            ["git", "ls-files", "--", source],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.splitlines()
        assert tracked, source
        assert [path for path in tracked if excluded(path)] == []
