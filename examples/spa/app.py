"""A single-page app in cookie mode: static files (no build step) and the one document they
need, ``/config.json``, configured from the environment only:

    SPA_CLIENT_ID=... .venv/bin/python -m examples.spa

``SPA_ISSUER`` (default ``http://localhost:8000``) is the authority's issuer exactly as
``AUTHORITY_ISSUER`` says; ``SPA_API`` (default ``http://localhost:8001``) is
``examples.resource_api``; ``SPA_SCOPE`` (default ``read``) is what the login asks for. The
page keeps its access token in a JavaScript variable and nothing else: the refresh token is the
authority's httpOnly cookie, which no script on the page can read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

STATIC = Path(__file__).parent / "static"
FILES = {"/": "index.html", "/app.js": "app.js", "/app.css": "app.css"}
DEFAULT_ISSUER = "http://localhost:8000"
DEFAULT_API = "http://localhost:8001"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def create_app(environ: Mapping[str, str] = os.environ) -> Starlette:
    client_id = environ.get("SPA_CLIENT_ID", "").strip()
    if not client_id:
        raise SystemExit("spa: set SPA_CLIENT_ID, the client_id of `authority clients create spa`")
    issuer = (environ.get("SPA_ISSUER", "").strip() or DEFAULT_ISSUER).rstrip("/")
    api = (environ.get("SPA_API", "").strip() or DEFAULT_API).rstrip("/")
    scope = environ.get("SPA_SCOPE", "").strip() or "read"
    config = {"issuer": issuer, "client_id": client_id, "api": api, "scope": scope}
    # The page talks to itself, the authority and the API, and nothing else runs in it.
    headers = {
        "Content-Security-Policy": (
            f"default-src 'self'; connect-src 'self' {_origin(issuer)} {_origin(api)}; "
            "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }

    async def static(request: Request) -> Response:
        return FileResponse(STATIC / FILES[request.url.path], headers=headers)

    async def configuration(request: Request) -> JSONResponse:
        return JSONResponse(config, headers=headers)

    routes = [Route(path, static) for path in FILES]
    return Starlette(routes=[*routes, Route("/config.json", configuration)])
