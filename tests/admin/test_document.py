"""The admin API's OpenAPI document against the routes: each route of /admin is in
authority/web/openapi/admin.yaml with its methods, each path there is a route, and the document
is valid OpenAPI 3.1 that names the token every operation needs."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from authority.web.app import ROUTES
from tests.admin.document import DOCUMENT, operations, resolved


def _routes() -> set[tuple[str, str]]:
    [mount] = [r for r in ROUTES if isinstance(r, Mount) and r.path == "/admin"]
    found = set()
    for route in mount.routes:
        assert isinstance(route, Route)
        for method in route.methods or ():
            if method != "HEAD":  # Starlette answers HEAD wherever GET is
                found.add((f"{mount.path}{route.path}", method))
    return found


def test_every_admin_route_is_in_the_document_and_every_documented_path_is_a_route() -> None:
    assert _routes() == set(operations())


def test_the_document_is_valid_openapi_3_1() -> None:
    assert DOCUMENT["openapi"].startswith("3.1.")
    validate(DOCUMENT)


def test_every_operation_needs_the_admin_token_and_says_how_it_is_refused() -> None:
    scheme = DOCUMENT["components"]["securitySchemes"]["adminToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for (path, method), op in operations().items():
        assert op["security"] == [{"adminToken": ["authority:admin"]}], (path, method)
        assert {"401", "403", "503"} <= set(op["responses"]), (path, method)
        challenge = resolved(op["responses"]["401"])["headers"]["WWW-Authenticate"]
        assert challenge["required"] is True


def test_an_operation_taking_a_body_or_a_name_documents_its_400_or_404() -> None:
    for (path, method), op in operations().items():
        if "requestBody" in op or "parameters" in op:
            assert "400" in op["responses"], (path, method)
        if "{" in path:
            assert "404" in op["responses"], (path, method)


def _by_path() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path, method in operations():
        found.setdefault(path, set()).add(method)
    return found


@pytest.mark.parametrize(("path", "methods"), sorted(_by_path().items()))
def test_a_method_a_path_does_not_take_is_405_allowing_every_method_it_does(
    http: TestClient, path: str, methods: set[str]
) -> None:
    other = next(m for m in ("PUT", "PATCH", "DELETE", "POST", "GET") if m not in methods)

    response = http.request(other, re.sub(r"\{[^/]+\}", "x", path))

    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert allowed - {"HEAD"} == methods
