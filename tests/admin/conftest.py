"""The admin API on (AUTHORITY_ADMIN_API=on), an admin client and a caller that holds every
answer to the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.settings import Settings
from tests.admin.document import check
from tests.conftest import Registered


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, admin_api=True)


class Caller:
    """Requests to /admin/... with a bearer token; every answer checked against the document."""

    def __init__(self, http: TestClient, token: str) -> None:
        self.http = http
        self.token = token

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        **kwargs: Any,
    ) -> httpx2.Response:
        headers = {"Authorization": f"Bearer {token or self.token}", **kwargs.pop("headers", {})}
        if body is not None:
            kwargs["json"] = body
        response = self.http.request(method, f"/admin{path}", headers=headers, **kwargs)
        check(response)
        return response

    def with_token(self, token: str) -> Caller:
        return Caller(self.http, token)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> dict[str, Any]:
        """The JSON answer of a request that must succeed."""
        response = self(method, path, body)
        assert response.status_code == status, response.text
        answer: dict[str, Any] = response.json()
        return answer


def client_token(http: TestClient, client: Registered, **form: str) -> str:
    response = http.post(
        "/token", data={"grant_type": "client_credentials", **form}, auth=client.basic
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
def admin_client(admin: Admin) -> Registered:
    """A client made as `authority clients create ops --admin` makes it."""
    client, secret = admin.create_client("ops", [], [], None, [], admin=True)
    return Registered(client.client_id, secret)


@pytest.fixture
def api(http: TestClient, admin_client: Registered) -> Iterator[Caller]:
    yield Caller(http, client_token(http, admin_client))
