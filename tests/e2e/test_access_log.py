"""The access log of `authority serve --access-log` never carries a link token, or any other
query value named like a secret."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.raw_http import sqlite_url
from tests.e2e.servers import cli, environment, free_port, serve
from tests.mailbox import Mailbox, link, token

__all__ = ["sqlite_url"]  # a fixture
pytestmark = pytest.mark.e2e
RESET_PATH = "/accounts/password/reset"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_live_reset_token_is_logged_redacted(
    sqlite_url: str, tmp_path: Path, workers: str
) -> None:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    mailbox = Mailbox(tmp_path / "mail")
    env = environment(
        sqlite_url,
        tmp_path / "keys",
        issuer,
        AUTHORITY_EMAIL_URL=f"file://{mailbox.folder}",
        AUTHORITY_LOG_LEVEL="INFO",
    )
    log = tmp_path / "serve.log"
    email = "alice@example.com"
    with serve(env, port, "--access-log", "--workers", workers, log=log):
        stdin = "correct horse battery\n"
        cli(env, "users", "create", "alice", "--email", email, "--password-stdin", stdin=stdin)
        assert httpx.post(f"{issuer}{RESET_PATH}", json={"email": email}).status_code == 202
        [message] = mailbox.wait_for(1, to=email)
        live = token(message, RESET_PATH)
        assert httpx.get(link(message)).status_code == 200
        # Other names of secrets, one of them percent-encoded ("to%6Ben" is "token").
        others = "code=c0de-value&state=st4te-value&to%6Ben=enc0ded-value&lang=en"
        assert httpx.get(f"{issuer}/accounts/verify-email?{others}").status_code == 400
    lines = log.read_text().splitlines()
    assert f'"GET {RESET_PATH}?token=[redacted] HTTP/1.1" 200' in "\n".join(lines)
    assert any(
        "GET /accounts/verify-email?code=[redacted]&state=[redacted]&to%6Ben=[redacted]"
        "&lang=en HTTP/1.1" in line
        for line in lines
    ), lines
    for secret in (live, "c0de-value", "st4te-value", "enc0ded-value"):
        assert secret not in log.read_text()
