"""The JSON bodies of /accounts/*: held to the rules of a form, and to valid Unicode."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from authority.settings import Settings
from tests.conftest import Registered
from tests.http.account_helpers import PASSWORD, bearer, login
from tests.http.helpers import assert_error

NOT_UNICODE = "parameters must be valid Unicode (a lone surrogate is not)"
# Every endpoint that reads a JSON body, with the members it needs.
ENDPOINTS = {
    "/accounts/register": ("username", "email", "password"),
    "/accounts/verify-email": ("token",),
    "/accounts/password/reset": ("email",),
    "/accounts/password/reset/confirm": ("token", "new_password"),
    "/accounts/password/change": ("current_password", "new_password"),
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(registration="open")


def _body(members: tuple[str, ...], odd: str, in_name: bool) -> bytes:
    """A JSON object whose first member's value (or name) holds the escape ``odd``."""
    parts = []
    for n, name in enumerate(members):
        value = "plain value 123"
        if n == 0 and in_name:
            name = f"{name}{odd}"
        elif n == 0:
            value = f"x{odd}y"
        parts.append(f'"{name}": "{value}"')
    return ("{" + ", ".join(parts) + "}").encode()


@pytest.mark.parametrize("path", list(ENDPOINTS))
@pytest.mark.parametrize("odd", ["\\udc00", "\\ud800\\u0041", "\\udfff\\ud800"])
@pytest.mark.parametrize("in_name", [False, True], ids=["value", "name"])
def test_refuses_a_lone_surrogate_with_invalid_request(
    http: TestClient,
    alice: str,
    app_client: Registered,
    path: str,
    odd: str,
    in_name: bool,
) -> None:
    headers = {"Content-Type": "application/json"}
    if path == "/accounts/password/change":
        headers.update(bearer(login(http, app_client, PASSWORD).json()["access_token"]))

    response = http.post(path, content=_body(ENDPOINTS[path], odd, in_name), headers=headers)

    assert_error(response, 400, "invalid_request", NOT_UNICODE)


def test_a_surrogate_pair_is_one_character_and_welcome(http: TestClient) -> None:
    body = (
        b'{"username": "bob", "email": "bob@example.com", '
        b'"password": "maple \\ud83d\\udd11 syrup moon"}'
    )

    response = http.post(
        "/accounts/register", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 201, response.text


def test_a_body_nested_deeper_than_the_parser_goes_is_invalid_request(http: TestClient) -> None:
    body = b'{"username": ' + b"[" * 50000

    response = http.post(
        "/accounts/register", content=body, headers={"Content-Type": "application/json"}
    )

    assert_error(response, 400, "invalid_request", "the request body is not valid JSON")
