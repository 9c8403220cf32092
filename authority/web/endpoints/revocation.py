"""The revocation endpoint (RFC 7009 §2). A cookie-mode client revokes its session with the
refresh cookie instead of a ``token`` (``authority.web.refresh_cookie``): the family ends and
the cookie is cleared."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from authority.oauth.client_auth import ClientAuthenticator
from authority.oauth.revocation import Revoker
from authority.web.edge import Edge, authenticate_client, needs
from authority.web.refresh_cookie import RefreshCookies, check_csrf
from authority.web.requests import read_form
from authority.web.responses import NO_STORE


@dataclass(frozen=True)
class RevocationEndpoint:
    edge: Edge
    clients: ClientAuthenticator
    revoker: Revoker
    cookies: RefreshCookies


async def revoke(request: Request) -> Response:
    endpoint = needs(request, RevocationEndpoint)
    edge, cookies = endpoint.edge, endpoint.cookies
    params = await read_form(request)
    client = await authenticate_client(request, params, endpoint.clients, edge)
    token = params.one("token")
    params.one("token_type_hint")  # a hint only (§2.1); repeated is still invalid_request
    cookie = cookies.read(request) if client.refresh_cookie and token is None else None
    if cookie is not None:
        check_csrf(request, client)
        token = cookie
    if token is None:
        token = params.required("token")
    await edge.in_thread(endpoint.revoker.revoke, token, client, edge.now())
    # §2.2: 200 whether or not the token was known, valid or this client's.
    response = Response(status_code=200, headers=NO_STORE)
    if cookie is not None:
        cookies.clear(response)
    return response
