"""AUTHORITY_ADMIN_API off (the default): every path under /admin is the 404 of a path that
does not exist, whatever the method and whatever the token."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from tests.admin.document import operations

EVERY = sorted((method, re.sub(r"\{[^/]+\}", "x", path)) for path, method in operations())
NOT_FOUND = {"error": "not_found", "error_description": "Not Found"}


@pytest.mark.parametrize(("method", "path"), [*EVERY, ("PUT", "/admin/clients"), ("GET", "/admin")])
def test_every_admin_path_is_404_while_the_api_is_off(
    http: TestClient, admin: Admin, method: str, path: str
) -> None:
    client, secret = admin.create_client("ops", [], [], None, [], admin=True)
    token = http.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(client.client_id, secret)
    ).json()["access_token"]

    response = http.request(method, path, headers={"Authorization": f"Bearer {token}"})
    unknown = http.request(method, "/nothing-here")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert (unknown.status_code, unknown.json()) == (404, NOT_FOUND)
    assert "www-authenticate" not in response.headers
