"""Changing clients and users in place through the installed console script, seen by a
running server: rotated secrets, updated clients, set passwords, renamed and deleted users."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.servers import AUTHORITY, USER_PASSWORD, cli, environment, free_port, serve, wait_for

pytestmark = pytest.mark.e2e
Server = tuple[dict[str, str], str]  # the environment it runs in, its issuer
NEW_PASSWORD = "another long passphrase"
TTL = 1  # AUTHORITY_CLIENT_CACHE_TTL: how late a server may see a changed client


@pytest.fixture(scope="module")
def server(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("manage")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = environment(
        module_database_url, root / "keys", issuer, AUTHORITY_CLIENT_CACHE_TTL=str(TTL)
    )
    with serve(env, port, log=root / "serve.log"):
        yield env, issuer


def _run(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The console script's exit code and human output."""
    return subprocess.run(
        [AUTHORITY, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip


def _token(issuer: str, auth: tuple[str, str], **form: str) -> httpx.Response:
    return httpx.post(f"{issuer}/token", data=form, auth=auth)


def _app(env: dict[str, str], name: str) -> tuple[str, str]:
    app = cli(
        env, "clients", "create", name, "--grant", "password", "--grant", "refresh_token",
        "--scope", "read",
    )  # fmt: skip
    return app["client_id"], app["client_secret"]


def _login(issuer: str, app: tuple[str, str], username: str, password: str) -> httpx.Response:
    return _token(issuer, app, grant_type="password", username=username, password=password)


def _user(env: dict[str, str], username: str, *extra: str) -> dict[str, Any]:
    return cli(env, "users", "create", username, "--password-stdin", *extra, stdin=USER_PASSWORD)


def test_a_rotated_secret_and_the_old_one_both_work_until_the_old_is_revoked(
    server: Server,
) -> None:
    env, issuer = server
    svc = cli(env, "clients", "create", "svc", "--grant", "client_credentials", "--scope", "read")
    old = (svc["client_id"], svc["client_secret"])

    rotated = cli(env, "clients", "rotate-secret", svc["client_id"], "--grace", "1h")
    new = (svc["client_id"], rotated["client_secret"])

    cc = {"grant_type": "client_credentials"}
    wait_for(lambda: _token(issuer, new, **cc).status_code == 200, TTL + 5)
    assert _token(issuer, old, **cc).status_code == 200
    revoked = _run(env, "clients", "rotate-secret", svc["client_id"], "--grace", "0")
    assert revoked.returncode == 0, revoked.stderr
    assert "the old secret no longer works" in revoked.stdout
    newest = (svc["client_id"], revoked.stdout.split("client_secret:")[1].split()[0])
    wait_for(lambda: _token(issuer, newest, **cc).status_code == 200, TTL + 5)
    assert _token(issuer, old, **cc).status_code == 401
    assert _token(issuer, new, **cc).status_code == 401


def test_a_client_update_reaches_the_server_within_the_cache_ttl(server: Server) -> None:
    env, issuer = server
    svc = cli(env, "clients", "create", "svc2", "--grant", "client_credentials", "--scope", "read")
    auth = (svc["client_id"], svc["client_secret"])
    assert _token(issuer, auth, grant_type="client_credentials", scope="write").status_code == 400

    updated = cli(env, "clients", "update", svc["client_id"], "--scope", "read write")

    assert updated["scopes"] == ["read", "write"]
    wait_for(
        lambda: (
            _token(issuer, auth, grant_type="client_credentials", scope="write").status_code == 200
        ),
        TTL + 5,
    )


def test_create_refuses_refresh_token_alone(server: Server) -> None:
    env, _ = server

    done = _run(env, "clients", "create", "lonely", "--grant", "refresh_token", "--scope", "read")

    assert (done.returncode, done.stdout) == (1, "")
    assert "refresh_token alone issues nothing" in done.stderr


def test_set_password_ends_the_sessions_unless_told_to_keep_them(server: Server) -> None:
    env, issuer = server
    app = _app(env, "pw-app")
    _user(env, "pat")
    kept = _login(issuer, app, "pat", USER_PASSWORD).json()["refresh_token"]

    keep = cli(
        env, "users", "set-password", "pat", "--password-stdin", "--keep-sessions",
        stdin=NEW_PASSWORD,
    )  # fmt: skip
    assert (keep["sessions_ended"], keep["sessions_kept"]) == (0, True)
    refreshed = _token(issuer, app, grant_type="refresh_token", refresh_token=kept)
    assert refreshed.status_code == 200
    live = refreshed.json()["refresh_token"]

    done = _run(env, "users", "set-password", "pat", "--password-stdin", stdin=USER_PASSWORD)

    assert (done.returncode, done.stdout) == (0, "password of pat set; 1 session ended\n")
    ended = _token(issuer, app, grant_type="refresh_token", refresh_token=live)
    assert (ended.status_code, ended.json()["error"]) == (400, "invalid_grant")
    assert _login(issuer, app, "pat", USER_PASSWORD).status_code == 200


def test_a_renamed_user_signs_in_with_the_new_name_and_a_deleted_one_not_at_all(
    server: Server,
) -> None:
    env, issuer = server
    app = _app(env, "id-app")
    _user(env, "quinn", "--email", "quinn@example.com")
    session = _login(issuer, app, "quinn", USER_PASSWORD).json()["refresh_token"]

    renamed = cli(env, "users", "update", "quinn", "--username", "Quincy", "--no-email")

    assert (renamed["username"], renamed["email"]) == ("Quincy", None)
    assert _login(issuer, app, "quinn", USER_PASSWORD).status_code == 400
    assert _login(issuer, app, "Quincy", USER_PASSWORD).status_code == 200

    assert cli(env, "users", "delete", "Quincy")["deleted"] is True

    assert _login(issuer, app, "Quincy", USER_PASSWORD).status_code == 400
    gone = _token(issuer, app, grant_type="refresh_token", refresh_token=session)
    assert (gone.status_code, gone.json()["error"]) == (400, "invalid_grant")


def test_users_list_pages_and_searches(server: Server) -> None:
    env, _ = server
    for name in ("list-a", "list-b", "list-c"):
        _user(env, name)

    first = cli(env, "users", "list", "--search", "LIST-", "--limit", "2")
    rest = cli(env, "users", "list", "--search", "list-", "--limit", "2", "--after", first["next"])

    assert [u["username"] for u in first["users"]] == ["list-a", "list-b"]
    assert [u["username"] for u in rest["users"]] == ["list-c"]
    assert "next" not in rest
