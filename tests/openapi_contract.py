"""Answers held to the OpenAPI document (authority.web.openapi): the operation the request
called must list the answer's status, its required headers with values its schemas allow,
its media type, and a body its schema allows."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import httpx2
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from authority.web import openapi
from tests.conftest import ISSUER

COOKIE = "__Host-authority_rt"
BASE = "urn:authority:openapi"  # the document's URI in the schema registry


@functools.cache
def document() -> dict[str, Any]:
    """The document as the test app (issuer ``ISSUER``) serves it."""
    return openapi.document(ISSUER, COOKIE)


@functools.cache
def _registry() -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(document(), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(BASE, resource)
    return registry


def pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _resolve(value: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A ``$ref`` to a component followed (one level, as the document uses them), and the
    JSON pointer of what was found there (None: the value itself)."""
    ref = value.get("$ref")
    if ref is None:
        return value, None
    assert isinstance(ref, str) and ref.startswith("#/"), ref
    found: Any = document()
    for part in ref[2:].split("/"):
        found = found[part.replace("~1", "/").replace("~0", "~")]
    assert isinstance(found, dict)
    return found, ref[1:]


def _template(path: str) -> str:
    """The documented path that ``path`` (a request's) matches."""
    for template in document()["paths"]:
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            return str(template)
    raise AssertionError(f"{path} is not in the document")


def valid(instance: Any, at: str) -> None:
    """``instance`` against the schema at the JSON pointer ``at`` in the document (its $refs
    resolved against the whole document)."""
    validator = Draft202012Validator({"$ref": BASE + "#" + at}, registry=_registry())
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]
    assert not problems, f"not what the document says at {at}: {problems}"


def assert_documented(response: httpx2.Response) -> httpx2.Response:
    """``response`` is one its operation documents; returns it."""
    method = response.request.method.lower()
    template = _template(response.request.url.path)
    operation = document()["paths"][template][method]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {template} documents no {status}"
    answer, where = _resolve(operation["responses"][status])
    where = where or pointer("paths", template, method, "responses", status)
    for name, spec in answer.get("headers", {}).items():
        header, at = _resolve(spec)
        value = response.headers.get(name)
        if value is None:
            assert not header.get("required"), f"{name} is missing"
            continue
        valid(value, (at or where + pointer("headers", name)) + "/schema")
    content = answer.get("content")
    if content is None:
        assert not response.content, f"{method} {template} {status} documents no body"
        return response
    media_type = response.headers.get("content-type", "").partition(";")[0].strip()
    assert media_type in content, f"{media_type} is not documented for {template} {status}"
    if media_type == "application/json" or media_type.endswith("+json"):
        valid(json.loads(response.content), where + pointer("content", media_type, "schema"))
    return response
