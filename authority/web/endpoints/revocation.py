"""The revocation endpoint (RFC 7009 §2)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from authority.oauth.client_auth import ClientAuthenticator
from authority.oauth.revocation import Revoker
from authority.web.edge import Edge, authenticate_client, needs
from authority.web.requests import read_form
from authority.web.responses import NO_STORE


@dataclass(frozen=True)
class RevocationEndpoint:
    edge: Edge
    clients: ClientAuthenticator
    revoker: Revoker


async def revoke(request: Request) -> Response:
    endpoint = needs(request, RevocationEndpoint)
    edge = endpoint.edge
    params = await read_form(request)
    client = await authenticate_client(request, params, endpoint.clients, edge)
    token = params.required("token")
    params.one("token_type_hint")  # a hint only (§2.1); repeated is still invalid_request
    await edge.in_thread(endpoint.revoker.revoke, token, client, edge.now())
    # §2.2: 200 whether or not the token was known, valid or this client's.
    return Response(status_code=200, headers=NO_STORE)
