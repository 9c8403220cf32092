"""A real browser (Debian's headless Chromium, driven by Playwright) follows a reset link.

Playwright never downloads a browser here: it launches /usr/bin/chromium. Without it the
test skips, except where AUTHORITY_TEST_REQUIRE_BROWSER=1 (CI), which makes that a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.servers import cli, environment, free_port, serve
from tests.mailbox import Mailbox, link

pytestmark = pytest.mark.e2e
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
PASSWORD = "correct horse battery"
NEW_PASSWORD = "maple syrup on the moon"


def _unavailable(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason} (AUTHORITY_TEST_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Any]:
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=ARGS, headless=True
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Mailbox]]:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    mailbox = Mailbox(tmp_path / "mail")
    env = environment(
        database_url, tmp_path / "keys", issuer, AUTHORITY_EMAIL_URL=f"file://{mailbox.folder}"
    )
    with serve(env, port, log=tmp_path / "serve.log"):
        yield issuer, env, mailbox


def test_a_browser_opens_the_reset_link_sets_a_password_and_it_works_on_token(
    chromium: Any, server: tuple[str, dict[str, str], Mailbox]
) -> None:
    issuer, env, mailbox = server
    app = cli(env, "clients", "create", "web", "--grant", "password", "--scope", "profile")
    client = (app["client_id"], app["client_secret"])
    cli(
        env,
        "users",
        "create",
        "alice",
        "--email",
        "alice@example.com",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    asked = httpx.post(f"{issuer}/accounts/password/reset", json={"email": "alice@example.com"})
    assert asked.status_code == 202
    [message] = mailbox.wait_for(1)

    page = chromium.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    opened = page.goto(link(message))
    assert opened is not None and opened.status == 200
    assert page.title() == "Choose a new password"
    page.fill("#new_password", NEW_PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")

    assert page.url == f"{issuer}/accounts/password/reset/confirm"
    assert page.title() == "Password changed"
    assert "every session of your account has ended" in page.inner_text("main")
    # The inline style is allowed by its hash; a violation would show as a console error.
    assert page.eval_on_selector("main", "e => getComputedStyle(e).maxWidth") == "416px"
    assert problems == []

    def login(password: str) -> httpx.Response:
        data = {"grant_type": "password", "username": "alice", "password": password}
        return httpx.post(f"{issuer}/token", data=data, auth=client)

    assert login(NEW_PASSWORD).status_code == 200
    assert login(PASSWORD).json() == {
        "error": "invalid_grant",
        "error_description": "invalid username or password",
    }
