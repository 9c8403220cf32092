"""tests/drf_project (Django REST framework) under real uvicorn, trusting a real ``authority
serve``: scopes over HTTP, a misconfigured view's fixed 500, and a 503 while the authority
is down before the project ever had its keys."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import cli, environment, free_port, serve, serve_drf_project, wait_for

pytestmark = pytest.mark.e2e
AUDIENCE = "https://api.example"


@dataclass(frozen=True)
class Project:
    api: str
    read: str  # an access token with the scope read, for the project's audience
    while_down: httpx.Response  # GET /items with that token while the authority was down
    recovered_in: float  # seconds until the same request answered 200 once it was back

    def get(self, path: str, token: str | None = None) -> httpx.Response:
        return get(f"{self.api}{path}", token)


def get(url: str, token: str | None) -> httpx.Response:
    return httpx.get(url, headers={"Authorization": f"Bearer {token}"} if token else {})


@pytest.fixture(scope="module")
def project(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    tmp = tmp_path_factory.mktemp("drf")
    shutil.copy(sqlite_template, tmp / "authority.db")
    port, api_port = free_port(), free_port()
    issuer, api = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{api_port}"
    env = environment(f"sqlite:///{tmp / 'authority.db'}", tmp / "keys", issuer)
    cli(env, "init")
    reader = cli(
        env,
        *("clients", "create", "reader", "--grant", "client_credentials"),
        *("--scope", "read", "--audience", AUDIENCE),
    )
    with serve(env, port, log=tmp / "serve.log"):
        minted = httpx.post(
            f"{issuer}/token",
            data={"grant_type": "client_credentials"},
            auth=(reader["client_id"], reader["client_secret"]),
        )
        assert minted.status_code == 200, minted.text
        read = str(minted.json()["access_token"])
    # The project starts while the authority is down, so it has never fetched the keys.
    with serve_drf_project(issuer, AUDIENCE, api_port, log=tmp / "drf.log"):
        while_down = get(f"{api}/items", read)
        with serve(env, port, log=tmp / "serve-again.log"):
            started = time.monotonic()
            wait_for(lambda: get(f"{api}/items", read).status_code == 200, 30)
            yield Project(api, read, while_down, time.monotonic() - started)


def test_a_scoped_view_serves_a_token_with_its_scope(project: Project) -> None:
    response = project.get("/items", project.read)
    assert response.status_code == 200
    body = response.json()
    assert body["scopes"] == ["read"]
    assert body["sub"] == body["client_id"]  # a client_credentials token is the client's


def test_a_token_without_the_scope_answers_403_naming_the_missing_scope(project: Project) -> None:
    response = project.get("/reports", project.read)  # needs read and reports
    assert response.status_code == 403
    assert response.json()["detail"] == "the token lacks the scope: reports"
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_without_a_token_a_scoped_view_answers_401_with_a_bare_challenge(
    project: Project,
) -> None:
    response = project.get("/items")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'


def test_a_view_without_required_scopes_answers_500_with_the_fixed_body(project: Project) -> None:
    for token in (project.read, None):
        response = project.get("/unscoped", token)
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {
            "detail": "this endpoint is misconfigured; the server's log says how"
        }
        assert "Traceback" not in response.text
        assert "required_scopes" not in response.text  # the fix is in the log, not the body


def test_while_the_authority_is_down_a_scoped_view_answers_503_then_recovers(
    project: Project,
) -> None:
    response = project.while_down
    assert response.status_code == 503
    assert response.json() == {"detail": "the authority's keys cannot be fetched"}
    assert "www-authenticate" not in response.headers  # the token is not to blame
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 10
    assert project.recovered_in <= retry_after + 2  # served again once Retry-After passed
