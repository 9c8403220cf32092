"""The token endpoint (RFC 6749 §3.2): parse, authenticate the client, dispatch to a grant."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authority import client_auth
from authority.errors import InvalidRequestError
from authority.grants import TokenRequest
from authority.http import no_store, read_form
from authority.service import Authority


async def token(request: Request) -> Response:
    authority: Authority = request.app.state.authority
    params = await read_form(request)
    grant_type = params.one("grant_type")
    if grant_type is None:
        raise InvalidRequestError("missing parameter: grant_type")
    grant = authority.grants.get(grant_type)
    credentials = client_auth.credentials(request.headers.get("authorization"), params)
    client = authority.clients.authenticate(credentials)
    authority.grants.check_allowed(grant, client)
    token_request = TokenRequest(client=client, params=params, now=authority.now())
    if grant.blocking:
        result = await run_in_threadpool(grant.issue, token_request)
    else:
        result = grant.issue(token_request)
    return no_store(result.as_dict())
