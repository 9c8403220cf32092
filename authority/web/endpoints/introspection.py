"""The introspection endpoint (RFC 7662 §2)."""

from __future__ import annotations

from dataclasses import dataclass

import anyio
from starlette.requests import Request
from starlette.responses import Response

from authority.oauth.client_auth import ClientAuthenticator
from authority.oauth.introspection import Introspector
from authority.web.edge import Edge, authenticate_client, needs
from authority.web.requests import read_form
from authority.web.responses import no_store


@dataclass(frozen=True)
class IntrospectionEndpoint:
    edge: Edge
    clients: ClientAuthenticator
    introspector: Introspector
    threads: anyio.CapacityLimiter  # the lookups' own (runtime.INTROSPECTION_THREADS)


async def introspect(request: Request) -> Response:
    endpoint = needs(request, IntrospectionEndpoint)
    edge = endpoint.edge
    params = await read_form(request)
    client = await authenticate_client(request, params, endpoint.clients, edge, public=False)
    token = params.required("token")
    params.one("token_type_hint")  # a hint only (§2.1)
    now = edge.now()
    # The signature check stays on the event loop: in a thread its CPU work held the GIL
    # against the loop, at a third of the throughput. Only the storage lookup goes to one.
    claims = endpoint.introspector.access_claims(token, now)
    answer = endpoint.introspector.answer
    return no_store(
        await edge.in_thread(answer, token, claims, client, now, limiter=endpoint.threads)
    )
