"""Self-service accounts over real HTTP, the mail read from the file backend's folder."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import cli, environment, free_port, serve
from tests.mailbox import Mailbox, link, token

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"
NEW_PASSWORD = "maple syrup on the moon"
RESET_PATH = "/accounts/password/reset"
INVALID_LINK = {
    "error": "invalid_link",
    "error_description": "this link is invalid, has expired or was already used; ask for a new one",
}
BAD_LOGIN = {"error": "invalid_grant", "error_description": "invalid username or password"}
LOCKOUT = 3600  # seconds: longer than any test runs


@dataclass
class Server:
    issuer: str
    env: dict[str, str]
    mailbox: Mailbox
    client: tuple[str, str]

    def login(self, username: str, password: str) -> httpx.Response:
        data = {"grant_type": "password", "username": username, "password": password}
        return httpx.post(f"{self.issuer}/token", data=data, auth=self.client)


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    mail = tmp_path / "mail"
    env = environment(
        database_url,
        tmp_path / "keys",
        issuer,
        AUTHORITY_EMAIL_URL=f"file://{mail}",
        AUTHORITY_REGISTRATION="open",
        AUTHORITY_REQUIRE_VERIFIED_EMAIL="true",
        AUTHORITY_LOGIN_MAX_FAILURES="3",
        AUTHORITY_LOGIN_LOCKOUT=str(LOCKOUT),
    )
    with serve(env, port, log=tmp_path / "serve.log"):
        app = cli(env, "clients", "create", "web", "--grant", "password", "--scope", "profile")
        yield Server(issuer, env, Mailbox(mail), (app["client_id"], app["client_secret"]))


def verified_user(server: Server, username: str = "alice") -> None:
    email = f"{username}@example.com"
    stdin = PASSWORD + "\n"
    cli(server.env, "users", "create", username, "--email", email, "--password-stdin", stdin=stdin)
    # An operator's user starts unverified; a reset link proves the mailbox, as verification.
    response = httpx.post(f"{server.issuer}{RESET_PATH}", json={"email": email})
    assert response.status_code == 202
    [message] = server.mailbox.wait_for(1, to=email)
    confirm = {"token": token(message, RESET_PATH), "new_password": PASSWORD + " again"}
    reset = httpx.post(f"{server.issuer}{RESET_PATH}/confirm", json=confirm)
    assert reset.json() == {"status": "password_reset"}
    cli(server.env, "users", "set-password", username, "--password-stdin", stdin=stdin)


def test_register_verify_then_log_in(server: Server) -> None:
    registered = httpx.post(
        f"{server.issuer}/accounts/register",
        data={"username": "bob", "email": "Bob@Example.com", "password": NEW_PASSWORD},
    )
    assert registered.status_code == 201
    assert server.login("bob", NEW_PASSWORD).json() == {
        "error": "invalid_grant",
        "error_description": "the email address of this account is not verified yet",
    }

    [message] = server.mailbox.wait_for(1, to="bob@example.com")
    url = link(message)
    assert url.startswith(f"{server.issuer}/accounts/verify-email?token=")
    page = httpx.get(url)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert server.login("bob", NEW_PASSWORD).status_code == 400  # opening it verified nothing

    # What the page's button does: post its form.
    browser = {"Accept": "text/html"}
    confirmed = httpx.post(
        f"{server.issuer}/accounts/verify-email",
        data={"token": token(message, "/accounts/verify-email")},
        headers=browser,
    )
    assert confirmed.status_code == 200
    assert "Email address confirmed" in confirmed.text

    tokens = server.login("bob", NEW_PASSWORD)
    assert tokens.status_code == 200, tokens.text
    assert set(tokens.json()) == {"access_token", "token_type", "expires_in", "scope"}


def test_a_new_verification_link_on_request_verifies_and_is_greppable_in_its_file(
    server: Server,
) -> None:
    registered = httpx.post(
        f"{server.issuer}/accounts/register",
        data={"username": "carol", "email": "carol@example.com", "password": NEW_PASSWORD},
    )
    assert registered.status_code == 201
    server.mailbox.wait_for(1, to="carol@example.com")

    answers = [
        httpx.post(f"{server.issuer}/accounts/verify-email/resend", json={"email": email})
        for email in ("carol@example.com", "nobody@example.com")
    ]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json() == answers[1].json()
    [_, again] = server.mailbox.wait_for(2, to="carol@example.com")

    # The file holds the link as sent: a grep finds it whole (no quoted-printable).
    url = link(again)
    [file] = [f for f in server.mailbox.folder.glob("*.eml") if url.encode() in f.read_bytes()]
    assert b"token=3D" not in file.read_bytes()
    confirmed = httpx.post(
        f"{server.issuer}/accounts/verify-email",
        json={"token": token(again, "/accounts/verify-email")},
    )
    assert confirmed.json() == {"status": "email_verified"}
    assert server.login("carol", NEW_PASSWORD).status_code == 200


def test_reset_answers_alike_for_known_and_unknown_addresses(server: Server) -> None:
    verified_user(server)
    before = len(server.mailbox.messages())

    with httpx.Client() as http:
        known = http.post(f"{server.issuer}{RESET_PATH}", json={"email": "alice@example.com"})
        unknown = http.post(f"{server.issuer}{RESET_PATH}", json={"email": "nobody@example.com"})

    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert known.status_code == 202
    assert known.content == unknown.content
    drop = ("date", "content-length", "x-request-id")  # each answer has its own id
    assert {k: v for k, v in known.headers.items() if k not in drop} == {
        k: v for k, v in unknown.headers.items() if k not in drop
    }
    # Only the account's address gets a link.
    messages = server.mailbox.wait_for(before + 1)
    assert {m["To"] for m in messages[before:]} == {"alice@example.com"}


@pytest.mark.timing
def test_reset_takes_as_long_for_known_and_unknown_addresses(server: Server) -> None:
    """The answer's latency does not tell whether an address has an account."""
    verified_user(server)

    def ask(email: str) -> float:
        started = time.perf_counter()
        response = http.post(f"{server.issuer}{RESET_PATH}", json={"email": email})
        assert response.status_code == 202
        return time.perf_counter() - started

    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    with httpx.Client() as http:
        ask("warm-up@example.com")
        for _ in range(15):  # interleaved, so drift in the machine's load hits both alike
            for kind, email in (("known", "alice@example.com"), ("unknown", "nobody@example.com")):
                timings[kind].append(ask(email))

    known_median = statistics.median(timings["known"])
    unknown_median = statistics.median(timings["unknown"])
    # The same work on the request path: any difference is noise. Generous: 20 ms or half.
    bound = max(0.02, 0.5 * min(known_median, unknown_median))
    assert abs(known_median - unknown_median) < bound, timings


def test_a_reset_link_works_once(server: Server) -> None:
    verified_user(server)
    before = len(server.mailbox.messages())
    assert (
        httpx.post(f"{server.issuer}{RESET_PATH}", json={"email": "alice@example.com"}).status_code
        == 202
    )
    message = server.mailbox.wait_for(before + 1)[-1]
    confirm = {"token": token(message, RESET_PATH), "new_password": NEW_PASSWORD}

    first = httpx.post(f"{server.issuer}{RESET_PATH}/confirm", json=confirm)
    again = httpx.post(f"{server.issuer}{RESET_PATH}/confirm", json=confirm)

    assert (first.status_code, first.json()) == (200, {"status": "password_reset"})
    assert (again.status_code, again.json()) == (400, INVALID_LINK)
    assert httpx.get(link(message)).status_code == 400
    assert server.login("alice", NEW_PASSWORD).status_code == 200
    assert server.login("alice", PASSWORD).json() == BAD_LOGIN


def test_a_lockout_after_failures_holds_until_the_operator_unlocks(server: Server) -> None:
    # The back-off ending by itself is tested on a frozen clock (tests/http/test_login_throttle.py);
    # here the settings reach the served processes, with a lockout no slow machine outlasts.
    verified_user(server)
    for _ in range(3):
        assert server.login("alice", "not the password").json() == BAD_LOGIN

    # Locked: the right password gets the wrong-password answer.
    assert server.login("alice", PASSWORD).json() == BAD_LOGIN

    assert cli(server.env, "users", "unlock", "alice") == {"username": "alice", "unlocked": True}
    response = server.login("alice", PASSWORD)
    assert response.status_code == 200, response.text
