"""The token endpoint (RFC 6749 §3.2): parse, authenticate the client, dispatch to a grant."""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import Response

from authority.errors import InvalidRequestError
from authority.oauth.grants import Grant, TokenRequest
from authority.runtime import Authority
from authority.web.requests import authenticate_client, client_ip, read_form
from authority.web.responses import no_store
from authority.web.threads import in_thread, limiter


async def token(request: Request) -> Response:
    authority: Authority = request.app.state.authority
    params = await read_form(request)
    grant_type = params.one("grant_type")
    if grant_type is None:
        raise InvalidRequestError("missing parameter: grant_type")
    grant = authority.grants.get(grant_type)
    client = await authenticate_client(request, params, authority)
    authority.grants.check_allowed(grant, client)
    token_request = TokenRequest(
        client=client, params=params, now=authority.now(), client_ip=client_ip(request, authority)
    )
    if grant.blocking:
        threads = _limiter(authority, grant)
        result = await in_thread(authority, grant.issue, token_request, limiter=threads)
    else:
        result = grant.issue(token_request)
    return no_store(result.as_dict())


def _limiter(authority: Authority, grant: Grant) -> anyio.CapacityLimiter | None:
    """A grant that caps itself has a limiter of its own (slow logins queue on the event
    loop and never take the threads that refreshes need)."""
    return limiter(authority, grant.grant_type, grant.max_threads) if grant.max_threads else None
