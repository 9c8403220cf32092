"""A real browser (Debian's headless Chromium, driven by Playwright) runs the example
single-page app (examples/spa) in cookie mode against real ``authority serve`` and
``examples.resource_api`` processes: the refresh token lives only in the authority's httpOnly
``__Host-`` cookie, the access token only in a JavaScript variable.

The access token "expires" on the page's clock (Playwright's fake clock, fast-forwarded by the
token's ``expires_in``): the app refreshes by that clock, and no server clock is touched, so
a test needs no minute-long AUTHORITY_ACCESS_TOKEN_TTL (whose minimum is 60 s, plus the API's
60 s leeway). AUTHORITY_REFRESH_REUSE_WINDOW=0 makes the replay of a used refresh token a
reuse at once.

Every page is on http://localhost (ports differ): one site, which SameSite=Strict needs, and a
secure context, where Chromium keeps and sends a Secure cookie over plain http.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from tests.e2e.browser import ARGS, CHROMIUM, chromium_type
from tests.e2e.servers import (
    USER_PASSWORD,
    cli,
    environment,
    free_port,
    serve,
    serve_resource_api,
    serve_spa,
)

pytestmark = pytest.mark.e2e
AUDIENCE = "https://api.example"
COOKIE = "__Host-authority_rt"
WAIT_MS = 10_000


@dataclass(frozen=True)
class Stack:
    issuer: str
    client_id: str
    api: str
    spa: str  # an allowed origin of the client's
    foreign: str  # the same app on an origin the client does not allow (same site)
    sub: str  # alice's

    def refresh_with(self, cookie: str, origin: str) -> httpx.Response:
        """A refresh from outside the browser: the cookie, Origin and CSRF header by hand."""
        return httpx.post(
            f"{self.issuer}/token",
            data={"grant_type": "refresh_token", "client_id": self.client_id},
            headers={"Cookie": f"{COOKIE}={cookie}", "Origin": origin, "X-Authority-CSRF": "1"},
        )


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with chromium_type() as browser_type:
        browser = browser_type.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def stack(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp_path = tmp_path_factory.mktemp("spa-browser")
    port, api_port, spa_port, foreign_port = (free_port() for _ in range(4))
    issuer, api = f"http://localhost:{port}", f"http://localhost:{api_port}"
    spa, foreign = f"http://localhost:{spa_port}", f"http://localhost:{foreign_port}"
    env = environment(
        module_database_url, tmp_path / "keys", issuer, AUTHORITY_REFRESH_REUSE_WINDOW="0"
    )
    # Made before the server starts, so its first snapshot of the origins holds the app's.
    cli(env, "init")
    client = cli(
        env,
        *("clients", "create", "spa", "--public", "--grant", "password"),
        *("--grant", "refresh_token", "--scope", "read", "--audience", AUDIENCE),
        *("--refresh-cookie", "--allowed-origin", spa),
    )
    alice = cli(env, "users", "create", "alice", "--password-stdin", stdin=USER_PASSWORD + "\n")
    with ExitStack() as running:
        running.enter_context(serve(env, port, log=tmp_path / "serve.log"))
        api_log = tmp_path / "api.log"
        running.enter_context(serve_resource_api(issuer, AUDIENCE, api_port, api_log, [spa]))
        for at, name in ((spa_port, "spa"), (foreign_port, "foreign")):
            log = tmp_path / f"{name}.log"
            running.enter_context(serve_spa(issuer, client["client_id"], api, at, log))
        yield Stack(issuer, client["client_id"], api, spa, foreign, alice["sub"])


def _text_is(page: Any, element: str, text: str | re.Pattern[str]) -> None:
    """Wait until the element with id ``element`` shows ``text``. (Playwright's assertions
    run in the page without eval, which its CSP forbids, unlike ``wait_for_function``.)"""
    from playwright.sync_api import expect

    expect(page.locator(f"#{element}")).to_have_text(text, timeout=WAIT_MS)


def _is_token_request(grant: str) -> Any:
    def matches(response: Any) -> bool:
        request = response.request
        if request.method != "POST" or not response.url.endswith("/token"):
            return False
        return bool(parse_qs(request.post_data or "").get("grant_type") == [grant])

    return matches


def _blocked(page: Any) -> list[str]:
    """What the browser blocks on ``page`` as it logs it: CSP and CORS violations."""
    blocked: list[str] = []

    def console(message: Any) -> None:
        if message.type == "error" and (
            "Content Security Policy" in message.text or "CORS" in message.text
        ):
            blocked.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: blocked.append(str(error)))
    return blocked


def _open(context: Any, url: str) -> tuple[Any, list[str]]:
    """The app in a new tab on a clock the test moves, and what the browser blocks there; it
    shows "signed out" (no cookie yet) or "signed in as ..." once its start-up refresh has
    answered."""
    page = context.new_page()
    blocked = _blocked(page)
    page.clock.install()
    page.goto(f"{url}/")
    _text_is(page, "status", re.compile("^signed "))
    return page, blocked


def _sign_in(page: Any) -> int:
    """Sign alice in through the form; returns the token response's expires_in."""
    _text_is(page, "status", "signed out")
    page.fill("#username", "alice")
    page.fill("#password", USER_PASSWORD)
    with page.expect_response(_is_token_request("password")) as answer:
        page.click("#login button[type=submit]")
    assert answer.value.status == 200
    _text_is(page, "status", "signed in as alice")
    _text_is(page, "loads", "1")
    body = answer.value.json()
    assert "refresh_token" not in body
    return int(body["expires_in"])


def _refresh_cookie(context: Any) -> dict[str, Any] | None:
    cookies = [c for c in context.cookies() if c["name"] == COOKIE]
    assert len(cookies) <= 1, cookies
    return cookies[0] if cookies else None


def _expire_and_reload(page: Any, expires_in: int) -> Any:
    """Let the access token expire on the page's clock, then load the items; returns the
    refresh the app made on the way."""
    page.clock.fast_forward(expires_in * 1000)
    with page.expect_response(_is_token_request("refresh_token")) as answer:
        page.click("#reload")
    return answer.value


def test_the_app_signs_in_keeps_its_tokens_from_scripts_refreshes_silently_and_signs_out(
    chromium: Any, stack: Stack
) -> None:
    context = chromium.new_context()
    page, blocked = _open(context, stack.spa)
    expires_in = _sign_in(page)
    assert page.inner_text("#sub") == stack.sub  # the API accepted the in-memory token

    # The refresh token is in the browser's jar, out of every script's reach.
    cookie = _refresh_cookie(context)
    assert cookie is not None
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Strict")
    assert (cookie["domain"], cookie["path"]) == ("localhost", "/")
    visible = page.evaluate(
        "[document.cookie, JSON.stringify(localStorage), JSON.stringify(sessionStorage)]"
    )
    assert visible == ["", "{}", "{}"]

    # Expired by the page's clock: the app refreshes with the cookie alone, then loads again.
    refreshed = _expire_and_reload(page, expires_in)
    assert refreshed.status == 200
    assert "refresh_token=" not in (refreshed.request.post_data or "")
    assert set(refreshed.json()) >= {"access_token", "expires_in"}
    assert "refresh_token" not in refreshed.json()
    _text_is(page, "loads", "2")
    rotated = _refresh_cookie(context)
    assert rotated is not None and rotated["value"] != cookie["value"]

    # Sign out: the cookie is gone from the jar and the session from the server.
    with page.expect_response(lambda r: r.url == f"{stack.issuer}/logout") as logout:
        page.click("#logout")
    assert logout.value.status == 204
    _text_is(page, "status", "signed out")
    assert _refresh_cookie(context) is None
    dead = stack.refresh_with(rotated["value"], stack.spa)
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"

    # A reload stays signed out: nothing of the session survived in the page either.
    page.reload()
    _text_is(page, "status", "signed out")
    assert blocked == []
    context.close()


def test_the_app_refreshes_and_retries_once_when_the_api_refuses_its_token(
    chromium: Any, stack: Stack
) -> None:
    context = chromium.new_context()
    page, blocked = _open(context, stack.spa)
    _sign_in(page)
    # An API whose clock runs ahead of the page's: it refuses the token once (a stand-in
    # answer), then the real API answers the retry.
    sent: list[str] = []  # each call's Authorization header

    def refuse_once(route: Any) -> None:
        sent.append(route.request.headers["authorization"])
        if len(sent) > 1:
            route.continue_()
            return
        route.fulfill(
            status=401,
            headers={
                "Access-Control-Allow-Origin": stack.spa,
                "WWW-Authenticate": 'Bearer error="invalid_token"',
            },
        )

    page.route(f"{stack.api}/items", refuse_once)
    with page.expect_response(_is_token_request("refresh_token")) as refreshed:
        page.click("#reload")
    assert refreshed.value.status == 200
    _text_is(page, "loads", "2")
    retried = f"Bearer {refreshed.value.json()['access_token']}"
    assert len(sent) == 2 and sent[0] != retried and sent[1] == retried
    assert blocked == []
    context.close()


def test_a_replayed_refresh_cookie_ends_the_session_and_the_app_signs_out(
    chromium: Any, stack: Stack
) -> None:
    context = chromium.new_context()
    page, blocked = _open(context, stack.spa)
    expires_in = _sign_in(page)
    first = _refresh_cookie(context)
    assert first is not None
    assert _expire_and_reload(page, expires_in).status == 200
    _text_is(page, "loads", "2")

    # Someone replays the first cookie, whose successor the app has used: a reuse.
    replay = stack.refresh_with(first["value"], stack.spa)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"

    # The family is revoked: the app's next refresh fails and it asks for a password again.
    refused = _expire_and_reload(page, expires_in)
    assert refused.status == 400 and refused.json()["error"] == "invalid_grant"
    _text_is(page, "status", "signed out")
    _text_is(page, "error", "your session has ended: sign in again")
    assert page.is_visible("#password") and not page.is_visible("#items")
    assert _refresh_cookie(context) is None  # the answer cleared it
    assert blocked == []
    context.close()


def test_a_page_on_an_origin_the_client_does_not_allow_cannot_use_the_cookie(
    chromium: Any, stack: Stack
) -> None:
    context = chromium.new_context()
    page, blocked = _open(context, stack.spa)
    expires_in = _sign_in(page)
    cookie = _refresh_cookie(context)
    assert cookie is not None

    # Same site, so the cookie would go along; the CORS preflight fails first.
    failed: list[str] = []
    foreign = context.new_page()
    foreign.on("requestfailed", lambda request: failed.append(request.url))
    refusals = _blocked(foreign)
    foreign.clock.install()
    foreign.goto(f"{stack.foreign}/")
    _text_is(foreign, "status", "signed out")
    _text_is(foreign, "error", "could not reach the authority: Failed to fetch")
    assert f"{stack.issuer}/token" in failed
    assert any(
        f"from origin '{stack.foreign}' has been blocked by CORS policy: Response to preflight"
        in message
        for message in refusals
    ), refusals

    # Sent from outside a browser, the server refuses that Origin, and nothing changes.
    refused = stack.refresh_with(cookie["value"], stack.foreign)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    assert _refresh_cookie(context) == cookie
    assert _expire_and_reload(page, expires_in).status == 200
    _text_is(page, "loads", "2")
    assert blocked == []
    context.close()
