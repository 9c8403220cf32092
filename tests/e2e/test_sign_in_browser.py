"""A real browser (Debian's headless Chromium, driven by Playwright) signs in to the example
relying party (examples/relying_party) through the authority's hosted pages: login, consent,
a second app's silent sign-in, logout; and the login page without JavaScript.

Playwright never downloads a browser here: it launches /usr/bin/chromium. Without it the
test skips, except where AUTHORITY_TEST_REQUIRE_BROWSER=1 (CI), which makes that a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.browser import ARGS, CHROMIUM, chromium_type
from tests.e2e.servers import (
    USER_PASSWORD,
    cli,
    environment,
    free_port,
    serve,
    serve_relying_party,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """The browser; each test opens its contexts (cookie jars) in it."""
    with chromium_type() as browser_type:
        browser = browser_type.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass(frozen=True)
class Apps:
    issuer: str
    sub: str  # alice's
    partner: str  # a third-party app (consent), confidential
    second: str  # a first-party app, public (PKCE alone)


def _register(env: dict[str, str], name: str, url: str, *flags: str) -> tuple[str, str | None]:
    created = cli(
        env,
        *("clients", "create", name, "--grant", "authorization_code", "--scope", "openid profile"),
        *("--redirect-uri", f"{url}/callback", "--post-logout-redirect-uri", f"{url}/signed-out"),
        *flags,
    )
    return created["client_id"], created.get("client_secret")


@pytest.fixture(scope="module")
def apps(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Apps]:
    tmp_path = tmp_path_factory.mktemp("sign-in-browser")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    partner, second = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    env = environment(module_database_url, tmp_path / "keys", issuer)
    with ExitStack() as running:
        running.enter_context(serve(env, port, log=tmp_path / "serve.log"))
        alice = cli(env, "users", "create", "alice", "--password-stdin", stdin=USER_PASSWORD + "\n")
        partner_client = _register(env, "partner", partner, "--consent")
        second_client = _register(env, "second", second, "--public")
        # One host for all three: each app's session cookie needs a name of its own.
        for client, url, cookie in (
            (partner_client, partner, "partner"),
            (second_client, second, "second"),
        ):
            log = tmp_path / f"{cookie}.log"
            running.enter_context(serve_relying_party(issuer, client, url, log, cookie))
        yield Apps(issuer, alice["sub"], partner, second)


def _watch(page: Any) -> tuple[list[str], list[tuple[str, int]]]:
    """The page's console errors (a CSP violation is one) and every response it got. The
    browser asking for an icon the site does not have is not a problem of the pages."""
    problems: list[str] = []
    responses: list[tuple[str, int]] = []

    def console(message: Any) -> None:
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            problems.append(f"{message.text} at {message.location['url']}")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda r: responses.append((r.url, r.status)))
    return problems, responses


def _log_in(page: Any, issuer: str) -> None:
    assert page.url.startswith(f"{issuer}/authorize"), page.url
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", USER_PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit], input[type=submit]")


def test_a_browser_signs_in_with_consent_then_silently_at_a_second_app_then_out(
    chromium: Any, apps: Apps
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    problems, responses = _watch(page)

    page.goto(f"{apps.partner}/")
    assert page.title() == "Not signed in"
    with page.expect_navigation():
        page.click("text=Sign in")
    _log_in(page, apps.issuer)

    # The third-party app asks for consent; allowing it lands back in the app, signed in.
    assert page.url.startswith(f"{apps.issuer}/authorize"), page.url
    with page.expect_navigation():
        page.click("button[name=consent][value=allow]")
    assert page.url == f"{apps.partner}/"
    assert page.title() == "Signed in as alice"
    assert page.inner_text("#sub") == apps.sub

    # The second app: through the authority's session, no page shown there.
    shown = len(responses)
    page.goto(f"{apps.second}/login")
    assert page.url == f"{apps.second}/"
    assert page.title() == "Signed in as alice"
    at_authority = [(u, s) for u, s in responses[shown:] if u.startswith(apps.issuer)]
    assert at_authority and all(status == 302 for _, status in at_authority), at_authority

    # Logout from the partner app: the authority's confirmation page, then back with state.
    page.goto(f"{apps.partner}/")
    with page.expect_navigation():
        page.click("button:has-text('Sign out')")
    assert page.url.startswith(f"{apps.issuer}/logout"), page.url
    with page.expect_navigation():
        page.click("button:has-text('Sign out')")
    assert page.url.startswith(f"{apps.partner}/signed-out?state="), page.url
    assert page.title() == "Signed out"

    # The authority's session has ended: the second app's sign-in asks for a password.
    page.goto(f"{apps.second}/login")
    assert page.url.startswith(f"{apps.issuer}/authorize"), page.url
    assert page.is_visible("input[name=password]")
    assert problems == []
    context.close()


def test_the_login_page_works_with_javascript_disabled(chromium: Any, apps: Apps) -> None:
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    problems, _ = _watch(page)
    page.goto(f"{apps.second}/login")
    _log_in(page, apps.issuer)
    assert page.url == f"{apps.second}/"
    assert page.title() == "Signed in as alice"
    assert page.inner_text("#sub") == apps.sub
    assert problems == []
    context.close()
