"""The OpenAPI 3.1 document of the HTTP API, served at ``/openapi.json``.

It is written by hand, in YAML beside this module, from what the endpoints answer:
``public.yaml`` (OAuth, OIDC, a user's sessions, accounts, discovery, probes) and
``admin.yaml`` (the admin API under /admin/), which is merged in when it is there. Each app
builds it once: the parts merged, the issuer as its one server, the refresh cookie under the
name this issuer gives it, the release's version. tests/unit/test_openapi.py holds it to the
route table, tests/e2e/test_schemathesis.py the server to it.
"""

from __future__ import annotations

import copy
import functools
import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import Response

import authority
from authority.web.edge import needs
from authority.web.responses import etag_matches, json_bytes

PUBLIC = "public.yaml"
PARTS = (PUBLIC, "admin.yaml")  # the first is the document; each other part adds to it
# What a part after the first may hold: its own ``openapi`` and ``info`` (so it reads as a
# document by itself) are left out; anything else it says would be lost, so it may not.
_PART_KEYS = frozenset({"openapi", "info", "paths", "components", "tags"})
MAX_AGE = 300  # as discovery's
# libyaml's parser when PyYAML has it (its wheels do): eight times faster than the Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(name: str) -> dict[str, Any] | None:
    part = resources.files(__name__) / name
    if not part.is_file():
        return None
    loaded = yaml.load(part.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 (safe)
    if not isinstance(loaded, dict):
        raise ValueError(f"{name} is not a YAML mapping")
    return loaded


def _add(into: dict[str, Any], more: dict[str, Any], where: str) -> None:
    """``more``'s entries into ``into``; a name both define differently is an error (two
    parts must never say different things under one name)."""
    for name, value in more.items():
        if name in into and into[name] != value:
            raise ValueError(f"{where}{name} is defined twice, differently")
        into[name] = value


def merge(document: dict[str, Any], part: dict[str, Any], name: str) -> None:
    """Add a part's paths, components and tags to ``document``."""
    unknown = sorted(set(part) - _PART_KEYS)
    if unknown:
        raise ValueError(f"{name} may hold only {sorted(_PART_KEYS)}, not {unknown}")
    _add(document.setdefault("paths", {}), part.get("paths") or {}, "paths.")
    components = document.setdefault("components", {})
    for section, entries in (part.get("components") or {}).items():
        _add(components.setdefault(section, {}), entries, f"components.{section}.")
    tags = document.setdefault("tags", [])
    known = {tag["name"] for tag in tags}
    tags.extend(tag for tag in part.get("tags") or () if tag["name"] not in known)


@functools.cache
def _parts() -> tuple[tuple[str, dict[str, Any]], ...]:
    """The YAML parts there are, by name, parsed once per process."""
    return tuple((name, part) for name in PARTS if (part := _load(name)) is not None)


def document(issuer: str, cookie_name: str) -> dict[str, Any]:
    """The whole document for a server at ``issuer`` whose refresh cookie is ``cookie_name``
    (``authority.web.refresh_cookie``)."""
    (_, first), *others = _parts()
    merged = copy.deepcopy(first)  # the parsed parts are shared by every app of the process
    for name, part in others:
        merge(merged, copy.deepcopy(part), name)
    merged["info"]["version"] = authority.__version__
    merged["servers"] = [{"url": issuer}]
    components = merged["components"]
    components["securitySchemes"]["refreshCookie"]["name"] = cookie_name
    components["parameters"]["RefreshCookie"]["name"] = cookie_name
    return merged


@dataclass(frozen=True)
class OpenApiEndpoint:
    body: bytes
    etag: str

    @classmethod
    def build(cls, issuer: str, cookie_name: str) -> OpenApiEndpoint:
        body = json_bytes(document(issuer, cookie_name))
        return cls(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


async def openapi_json(request: Request) -> Response:
    """The document: public and cacheable, revalidated by its ETag (RFC 9110 §13.1.2)."""
    endpoint = needs(request, OpenApiEndpoint)
    headers = {"Cache-Control": f"public, max-age={MAX_AGE}", "ETag": endpoint.etag}
    match = request.headers.get("if-none-match")
    if match is not None and etag_matches(match, endpoint.etag):
        return Response(status_code=304, headers=headers)
    return Response(endpoint.body, headers=headers, media_type="application/json")
