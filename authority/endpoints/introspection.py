"""The introspection endpoint (RFC 7662 §2)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authority.http import authenticate_client, in_thread, no_store, read_form
from authority.service import Authority


async def introspect(request: Request) -> Response:
    authority: Authority = request.app.state.authority
    params = await read_form(request)
    client = await authenticate_client(request, params, authority)
    token = params.required("token")
    params.one("token_type_hint")  # a hint only (§2.1)
    # A signature check and a deny-list (or refresh-token) lookup, in one trip to a thread.
    introspect = authority.introspector.introspect
    return no_store(await in_thread(authority, introspect, token, client, authority.now()))
