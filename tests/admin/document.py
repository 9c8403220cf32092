"""The admin API's OpenAPI document (authority/web/openapi/admin.yaml), read as a file, and
every answer held to it: its status documented for its operation, its body valid under the
schema of that status, its documented headers present."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import httpx2
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

PATH = Path(__file__).resolve().parents[2] / "authority" / "web" / "openapi" / "admin.yaml"
DOCUMENT: dict[str, Any] = yaml.safe_load(PATH.read_text())
BASE = "urn:authority:admin"
_REGISTRY: Registry[Any] = Registry().with_resource(
    BASE, Resource.from_contents(DOCUMENT, default_specification=DRAFT202012)
)
METHODS = ("get", "put", "post", "delete", "patch")


def operations() -> dict[tuple[str, str], dict[str, Any]]:
    """Every operation, by (path template, METHOD)."""
    return {
        (path, method.upper()): item[method]
        for path, item in DOCUMENT["paths"].items()
        for method in METHODS
        if method in item
    }


def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$")


def operation(method: str, path: str) -> dict[str, Any]:
    """The operation a request is an instance of."""
    found = [op for (t, m), op in operations().items() if m == method and _template(t).match(path)]
    assert len(found) == 1, f"{method} {path}: {len(found)} operations in admin.yaml"
    return found[0]


def resolved(item: dict[str, Any]) -> dict[str, Any]:
    """A component (a response, a parameter) in place of its $ref."""
    while "$ref" in item:
        node: Any = DOCUMENT
        for part in item["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        item = node
    return item


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of ``schema`` (a schema of the document, or a $ref into it)."""
    if "$ref" in schema:
        schema = {"$ref": BASE + schema["$ref"]}
    return Draft202012Validator(schema, registry=_REGISTRY)


def check(response: httpx.Response | httpx2.Response) -> None:
    """The answer is one the document describes."""
    request = response.request
    op = operation(request.method, request.url.path)
    status = str(response.status_code)
    assert status in op["responses"], (
        f"{request.method} {request.url.path} answered {status}, which admin.yaml does not list"
    )
    described = resolved(op["responses"][status])
    for name, header in described.get("headers", {}).items():
        if resolved(header).get("required"):
            assert name.lower() in response.headers, f"{status} without {name}"
    assert response.headers["content-type"] == "application/json"
    schema = described["content"]["application/json"]["schema"]
    validator(schema).validate(response.json())
