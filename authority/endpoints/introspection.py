"""The introspection endpoint (RFC 7662 §2)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authority.http import authenticate_client, no_store, read_form
from authority.service import Authority


async def introspect(request: Request) -> Response:
    authority: Authority = request.app.state.authority
    params = await read_form(request)
    client = authenticate_client(request, params, authority)
    token = params.required("token")
    params.one("token_type_hint")  # a hint only (§2.1)
    # One signature check and one indexed lookup: cheap enough for the event loop.
    return no_store(authority.introspector.introspect(token, client, authority.now()))
