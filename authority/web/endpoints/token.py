"""The token endpoint (RFC 6749 §3.2): parse, authenticate the client, dispatch to a grant."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import anyio
from starlette.requests import Request
from starlette.responses import Response

from authority.errors import InvalidRequestError
from authority.oauth.client_auth import ClientAuthenticator
from authority.oauth.grants import GrantRegistry, TokenRequest
from authority.web.edge import Edge, authenticate_client, needs
from authority.web.requests import read_form
from authority.web.responses import no_store


@dataclass(frozen=True)
class TokenEndpoint:
    edge: Edge
    grants: GrantRegistry
    clients: ClientAuthenticator
    # A grant that caps itself has a limiter of its own, by grant type (slow logins queue
    # on the event loop and never take the threads that refreshes need).
    limiters: Mapping[str, anyio.CapacityLimiter]


async def token(request: Request) -> Response:
    endpoint = needs(request, TokenEndpoint)
    edge = endpoint.edge
    params = await read_form(request)
    grant_type = params.one("grant_type")
    if grant_type is None:
        raise InvalidRequestError("missing parameter: grant_type")
    grant = endpoint.grants.get(grant_type)
    client = await authenticate_client(request, params, endpoint.clients, edge)
    endpoint.grants.check_allowed(grant, client)
    token_request = TokenRequest(
        client=client, params=params, now=edge.now(), client_ip=edge.client_ip(request)
    )
    if grant.blocking:
        threads = endpoint.limiters.get(grant.grant_type)
        result = await edge.in_thread(grant.issue, token_request, limiter=threads)
    else:
        result = grant.issue(token_request)
    return no_store(result.as_dict())
