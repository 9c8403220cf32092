"""The revocation endpoint (RFC 7009 §2)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authority.runtime import Authority
from authority.web.requests import authenticate_client, read_form
from authority.web.responses import NO_STORE
from authority.web.threads import in_thread


async def revoke(request: Request) -> Response:
    authority: Authority = request.app.state.authority
    params = await read_form(request)
    client = await authenticate_client(request, params, authority)
    token = params.required("token")
    params.one("token_type_hint")  # a hint only (§2.1); repeated is still invalid_request
    await in_thread(authority, authority.revoker.revoke, token, client, authority.now())
    # §2.2: 200 whether or not the token was known, valid or this client's.
    return Response(status_code=200, headers=NO_STORE)
