"""The OpenAPI document (authority.web.openapi): a valid OpenAPI 3.1 document that describes
every route the app serves, with exactly its methods, and nothing the app does not serve."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from fnmatch import fnmatch
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from starlette.routing import BaseRoute, Mount, Route

from authority.web import openapi
from authority.web.app import ROUTES, create_app
from tests import openapi_contract as contract
from tests.openapi_contract import pointer

ISSUER = "https://auth.example"
COOKIE = "__Host-authority_rt"
ROOT = Path(__file__).resolve().parents[2]
# What the document leaves out: pages for a person in a browser, not an API.
PAGES = {
    ("GET", "/authorize"): "the sign-in and consent pages, answered with HTML and redirects",
    ("POST", "/authorize"): "the sign-in and consent forms of those pages",
    ("GET", "/logout"): "RP-initiated logout's confirmation page",
    ("GET", "/accounts/register"): "the registration form",
    ("GET", "/accounts/verify-email"): "the page a verification link opens",
    ("GET", "/accounts/verify-email/resend"): "the form that asks for a new verification link",
    ("GET", "/accounts/password/reset"): "the page a reset link opens",
    ("GET", "/accounts/password/forgot"): "the forgotten-password form",
    ("GET", "/assets/authority.css"): "the hosted pages' stylesheet",
    ("GET", "/favicon.ico"): "what browsers ask every site for",
}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_CONVERTER = re.compile(r"\{([^}:]+)(:[^}]+)?\}")


def _served(routes: Iterable[BaseRoute], prefix: str = "") -> set[tuple[str, str]]:
    """(method, path) of every route, mounted ones too, path parameters as OpenAPI writes
    them. HEAD is left out: Starlette answers it for every GET."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Mount):
            found |= _served(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            path = _CONVERTER.sub(r"{\1}", prefix + route.path)
            found |= {(m, path) for m in route.methods or () if m != "HEAD"}
    return found


def _documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi.document(ISSUER, COOKIE)


def test_it_is_a_valid_openapi_3_1_document(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    validate(document)


def test_it_documents_every_route_with_exactly_its_methods(document: dict[str, Any]) -> None:
    served = _served(ROUTES) | _served(create_app().routes)

    undocumented = served - _documented(document) - set(PAGES)
    assert not undocumented, f"routes the document lacks: {sorted(undocumented)}"


def test_every_documented_operation_is_served(document: dict[str, Any]) -> None:
    served = _served(ROUTES) | _served(create_app().routes)

    assert not _documented(document) - served
    assert set(PAGES) <= served, "a page left out of the document is no longer served"
    assert not set(PAGES) & _documented(document)


def test_every_operation_names_itself_and_its_answers(document: dict[str, Any]) -> None:
    operations = [
        item[method] for item in document["paths"].values() for method in item if method in METHODS
    ]
    ids = [operation["operationId"] for operation in operations]

    assert len(ids) == len(set(ids))
    for operation in operations:
        # Every operation says who may call it (an empty list: anyone), and no 500: a
        # failure the server expects is a 503 that says when to retry.
        assert "security" in operation, operation["operationId"]
        assert "500" not in operation["responses"], operation["operationId"]


def test_its_server_is_the_issuer_and_its_version_the_releases(
    document: dict[str, Any],
) -> None:
    import authority

    assert document["servers"] == [{"url": ISSUER}]
    assert document["info"]["version"] == authority.__version__


def test_the_refresh_cookie_has_the_name_the_issuer_gives_it() -> None:
    prefixed = openapi.document(ISSUER + "/auth", "__Secure-authority_rt")
    components = prefixed["components"]

    assert components["securitySchemes"]["refreshCookie"]["name"] == "__Secure-authority_rt"
    assert components["parameters"]["RefreshCookie"]["name"] == "__Secure-authority_rt"
    assert prefixed["servers"] == [{"url": ISSUER + "/auth"}]
    # Each document is its own: building one changes no other.
    assert openapi.document(ISSUER, COOKIE)["components"]["parameters"]["RefreshCookie"][
        "name"
    ] == (COOKIE)


def test_a_part_adds_its_paths_components_and_tags() -> None:
    document = openapi.document(ISSUER, COOKIE)
    part = {
        "openapi": "3.1.0",
        "info": {"title": "things", "version": "1"},
        "tags": [{"name": "things"}, {"name": "oauth"}],
        "paths": {"/things": {"get": {"responses": {"200": {"description": "ok"}}}}},
        "components": {
            "schemas": {
                "Thing": {"type": "object"},
                "Strings": {"type": "array", "items": {"type": "string"}},
            },
            "securitySchemes": {"thingToken": {"type": "http", "scheme": "bearer"}},
        },
    }

    openapi.merge(document, part, "things.yaml")

    assert "/things" in document["paths"]
    assert document["components"]["schemas"]["Thing"] == {"type": "object"}
    assert "thingToken" in document["components"]["securitySchemes"]
    assert [t["name"] for t in document["tags"]].count("oauth") == 1
    assert document["info"]["title"] == "authority"


@pytest.mark.parametrize(
    ("part", "problem"),
    [
        ({"paths": {"/token": {"get": {}}}}, "paths./token is defined twice"),
        ({"components": {"schemas": {"Error": {"type": "string"}}}}, "schemas.Error"),
        ({"security": [{"adminToken": []}]}, "not ['security']"),
    ],
)
def test_a_part_may_not_redefine_what_another_says_nor_say_what_would_be_lost(
    part: dict[str, Any], problem: str
) -> None:
    document = openapi.document(ISSUER, COOKIE)

    with pytest.raises(ValueError, match=re.escape(problem)):
        openapi.merge(document, part, "admin.yaml")


def test_the_yaml_parts_are_package_data() -> None:
    """An installed wheel holds them: pyproject's package-data names every file beside the
    module (setuptools leaves out any file it does not name)."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        package_data = tomllib.load(file)["tool"]["setuptools"]["package-data"]
    globs = package_data[openapi.__name__]
    folder = resources.files(openapi.__name__)
    files = [p.name for p in folder.iterdir() if p.is_file() and not p.name.endswith(".py")]

    assert openapi.PUBLIC in files
    for name in files:
        assert any(fnmatch(name, glob) for glob in globs), name


def _examples(node: Any, at: str = "") -> Iterable[tuple[Any, str]]:
    """Every example of a media type, with the pointer of its schema."""
    if isinstance(node, dict):
        if "schema" in node and ("example" in node or "examples" in node):
            if "example" in node:
                yield node["example"], at + "/schema"
            for example in node.get("examples", {}).values():
                yield example["value"], at + "/schema"
        for key, value in node.items():
            yield from _examples(value, at + pointer(str(key)))
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from _examples(value, f"{at}/{n}")


def test_every_example_is_one_its_schema_allows() -> None:
    examples = list(_examples(contract.document()))

    assert len(examples) > 10
    for example, at in examples:
        contract.valid(example, at)
