"""Debian's headless Chromium, driven by Playwright, for the browser tests.

Playwright never downloads a browser here: it launches /usr/bin/chromium. Without it a test
skips, except where AUTHORITY_TEST_REQUIRE_BROWSER=1 (CI), which makes that a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("AUTHORITY_TEST_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("AUTHORITY_TEST_REQUIRE_BROWSER") == "1"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason} (AUTHORITY_TEST_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@contextmanager
def chromium_type() -> Iterator[Any]:
    """Playwright's Chromium browser type, to launch CHROMIUM with ARGS; skips (or fails, in
    CI) when the browser or Playwright is missing."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        yield playwright.chromium
