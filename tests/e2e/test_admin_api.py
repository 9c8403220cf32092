"""The admin API over real HTTP: an admin client made with the console script gets a token,
makes a client and a user through /admin, and both work at /token; without the setting there
is no /admin at all; no secret or password reaches the server's log; its changes are in
the audit trail, which /admin/audit reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.admin.document import check
from tests.e2e.servers import USER_PASSWORD, cli, environment, free_port, serve, wait_for

pytestmark = pytest.mark.e2e
Server = tuple[dict[str, str], str, Path]  # its environment, its issuer, its log


@pytest.fixture(scope="module")
def server(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("admin-api")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = environment(
        module_database_url,
        root / "keys",
        issuer,
        AUTHORITY_ADMIN_API="on",
        AUTHORITY_LOG_LEVEL="INFO",
    )
    log = root / "serve.log"
    with serve(env, port, "--access-log", log=log):
        yield env, issuer, log


def _token(issuer: str, auth: tuple[str, str], **form: str) -> httpx.Response:
    return httpx.post(
        f"{issuer}/token", data={"grant_type": "client_credentials", **form}, auth=auth
    )


def _admin(issuer: str, token: str, method: str, path: str, body: Any = None) -> httpx.Response:
    response = httpx.request(
        method, f"{issuer}/admin{path}", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    check(response)
    return response


def test_an_admin_client_from_the_console_script_makes_a_client_that_works_at_token(
    server: Server,
) -> None:
    env, issuer, log = server
    ops = cli(env, "clients", "create", "ops", "--admin")
    assert (ops["grant_types"], ops["scopes"]) == (["client_credentials"], ["authority:admin"])
    granted = _token(issuer, (ops["client_id"], ops["client_secret"]))
    assert granted.status_code == 200, granted.text
    assert granted.json()["scope"] == "authority:admin"
    token = granted.json()["access_token"]

    created = _admin(issuer, token, "POST", "/clients", {
        "name": "reports", "grant_types": ["client_credentials"], "scopes": ["read"],
    })  # fmt: skip

    assert created.status_code == 201, created.text
    svc = created.json()
    issued = _token(issuer, (svc["client_id"], svc["client_secret"]))
    assert (issued.status_code, issued.json()["scope"]) == (200, "read")
    # What the API made, the CLI shows.
    shown = cli(env, "clients", "show", svc["client_id"])
    assert shown == {k: v for k, v in svc.items() if k != "client_secret"}
    # Its token is not an admin token; none at all is not either.
    refused = _admin(issuer, issued.json()["access_token"], "GET", "/clients")
    assert (refused.status_code, refused.json()["error"]) == (403, "insufficient_scope")
    assert 'scope="authority:admin"' in refused.headers["www-authenticate"]
    bare = httpx.get(f"{issuer}/admin/clients")
    assert (bare.status_code, bare.headers["www-authenticate"]) == (401, 'Bearer realm="authority"')
    logged = log.read_text()
    assert "POST /admin/clients" in logged  # the access log saw the requests, not their secrets
    for secret in (ops["client_secret"], svc["client_secret"], token):
        assert secret not in logged


def test_a_user_made_through_the_api_signs_in_and_is_logged_out_by_it(server: Server) -> None:
    env, issuer, log = server
    ops = cli(env, "clients", "create", "ops-users", "--admin")
    token = _token(issuer, (ops["client_id"], ops["client_secret"])).json()["access_token"]
    app = _admin(issuer, token, "POST", "/clients", {
        "name": "app", "grant_types": ["password", "refresh_token"], "scopes": ["read"],
    }).json()  # fmt: skip
    made = _admin(issuer, token, "POST", "/users", {"username": "dana", "password": USER_PASSWORD})
    assert made.status_code == 201, made.text

    login = httpx.post(
        f"{issuer}/token",
        data={"grant_type": "password", "username": "dana", "password": USER_PASSWORD},
        auth=(app["client_id"], app["client_secret"]),
    )
    assert login.status_code == 200, login.text
    [session] = _admin(issuer, token, "GET", "/users/dana/sessions").json()["sessions"]
    assert session["client_id"] == app["client_id"]

    ended = _admin(issuer, token, "DELETE", f"/users/dana/sessions/{session['id']}")

    assert ended.json() == {"ended": 1}
    refresh = httpx.post(
        f"{issuer}/token",
        data={"grant_type": "refresh_token", "refresh_token": login.json()["refresh_token"]},
        auth=(app["client_id"], app["client_secret"]),
    )
    assert refresh.status_code == 400
    assert USER_PASSWORD not in log.read_text()


def test_without_the_setting_there_is_no_admin_api(server: Server, tmp_path: Path) -> None:
    env, _, _ = server
    port = free_port()
    off = {k: v for k, v in env.items() if k != "AUTHORITY_ADMIN_API"}
    off["AUTHORITY_ISSUER"] = issuer = f"http://127.0.0.1:{port}"
    ops = cli(env, "clients", "create", "ops-off", "--admin")
    with serve(off, port):
        token = _token(issuer, (ops["client_id"], ops["client_secret"]))
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

        listed = httpx.get(f"{issuer}/admin/clients", headers=headers)

    assert (listed.status_code, listed.json()["error"]) == (404, "not_found")


def test_a_change_through_the_api_is_in_the_trail_naming_the_admin_client(
    server: Server,
) -> None:
    env, issuer, _ = server
    ops = cli(env, "clients", "create", "ops-audit", "--admin")
    token = _token(issuer, (ops["client_id"], ops["client_secret"])).json()["access_token"]
    made = httpx.post(
        f"{issuer}/admin/users",
        json={"username": "erin", "password": USER_PASSWORD},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "e2e-admin-1"},
    )
    assert made.status_code == 201, made.text

    def listed() -> list[dict[str, Any]]:
        answer = _admin(issuer, token, "GET", "/audit?user=erin&type=user.created")
        assert answer.status_code == 200, answer.text
        events: list[dict[str, Any]] = answer.json()["events"]
        return events

    # The server's audit writer flushes every 200 ms.
    wait_for(lambda: bool(listed()), 2.0)
    [event] = listed()
    assert (event["actor_kind"], event["actor"]) == ("client", ops["client_id"])
    assert (event["subject"], event["request_id"]) == (made.json()["sub"], "e2e-admin-1")
    assert event["ip"] == "127.0.0.1"
    assert cli(env, "audit", "list", "--user", "erin", "--type", "user.created") == {
        "events": [event]
    }
