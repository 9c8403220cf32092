"""A real browser (Debian's headless Chromium, driven by Playwright) follows a reset link.

Playwright never downloads a browser here: it launches /usr/bin/chromium. Without it the
test skips, except where AUTHORITY_TEST_REQUIRE_BROWSER=1 (CI), which makes that a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.browser import ARGS, CHROMIUM, chromium_type
from tests.e2e.servers import cli, environment, free_port, serve
from tests.mailbox import Mailbox, link

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"
NEW_PASSWORD = "maple syrup on the moon"


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Any]:
    with chromium_type() as browser_type:
        context = browser_type.launch_persistent_context(
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
    # The stylesheet applies (style-src 'self'); a violation would show as a console error.
    assert page.eval_on_selector("main", "e => getComputedStyle(e).maxWidth") == "448px"
    assert problems == []

    def login(password: str) -> httpx.Response:
        data = {"grant_type": "password", "username": "alice", "password": password}
        return httpx.post(f"{issuer}/token", data=data, auth=client)

    assert login(NEW_PASSWORD).status_code == 200
    assert login(PASSWORD).json() == {
        "error": "invalid_grant",
        "error_description": "invalid username or password",
    }
