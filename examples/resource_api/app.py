"""A small API that accepts the authority's access tokens (RFC 6750), configured from the
environment only:

    RESOURCE_ISSUER=https://auth.example RESOURCE_AUDIENCE=https://api.example \\
        uvicorn examples.resource_api.app:app

``RESOURCE_JWKS_URI`` (optional) fetches the keys from another address than the issuer's
metadata names, e.g. ``http://authority:8000/jwks.json`` inside a compose network.
``RESOURCE_ALLOWED_ORIGINS`` (optional, space-separated, e.g. ``http://localhost:5173``) are the
browser origins whose scripts may call this API (CORS, bearer tokens only: no credentials).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from authority.verify import Verifier
from authority.verify.starlette import TokenUser, bearer_http_errors, bearer_middleware, requires
from authority.verify.verifier import Response, urllib_fetch

METADATA = "/.well-known/oauth-authorization-server"


class CountedFetch:
    """The verifier's HTTP GET, counted per URL, so /healthz can show how often this API
    asked the authority: once per JWKS lifetime, never once per token."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()

    def __call__(self, url: str, headers: Mapping[str, str]) -> Response:
        self.requests[url] += 1
        return urllib_fetch(url, headers)


def _setting(environ: Mapping[str, str], name: str, example: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise SystemExit(f"resource_api: set {name}, e.g. {name}={example}")
    return value


def create_app(environ: Mapping[str, str] = os.environ) -> Starlette:
    issuer = _setting(environ, "RESOURCE_ISSUER", "https://auth.example")
    audience = _setting(environ, "RESOURCE_AUDIENCE", "https://api.example")
    fetch = CountedFetch()
    verifier = Verifier(
        issuer, audience, jwks_uri=environ.get("RESOURCE_JWKS_URI") or None, fetch=fetch
    )
    items: list[dict[str, str]] = []
    # Outermost, so a preflight (which carries no token) and a 401 both get the CORS headers.
    # A page sends its bearer token itself: no cookie is ever involved, so no credentials.
    origins = environ.get("RESOURCE_ALLOWED_ORIGINS", "").split()
    cors = [
        Middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["WWW-Authenticate"],
        )
    ]

    async def public(request: Request) -> JSONResponse:
        return JSONResponse({"message": "no token needed here"})

    @requires("read")
    async def list_items(request: Request) -> JSONResponse:
        user: TokenUser = request.user
        return JSONResponse({"items": items, "sub": user.identity})

    @requires("write")
    async def create_item(request: Request) -> JSONResponse:
        user: TokenUser = request.user
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise HTTPException(400, 'send a JSON object such as {"name": "..."}')
        item = {"name": body["name"], "created_by": user.identity}
        items.append(item)
        return JSONResponse(item, 201)

    async def healthz(request: Request) -> JSONResponse:
        metadata = fetch.requests[verifier.issuer + METADATA]
        jwks = sum(fetch.requests.values()) - metadata
        return JSONResponse({"status": "ok", "metadata_fetches": metadata, "jwks_fetches": jwks})

    return Starlette(
        routes=[
            Route("/public", public),
            Route("/items", list_items, methods=["GET"]),
            Route("/items", create_item, methods=["POST"]),
            Route("/healthz", healthz),
        ],
        middleware=[*(cors if origins else []), *bearer_middleware(verifier)],
        exception_handlers={HTTPException: bearer_http_errors},
    )


app = create_app()
