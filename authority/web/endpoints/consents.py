"""A user's own consents to third-party clients: list them, withdraw one (bearer access
token with ``aud`` = issuer, as for /sessions)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from authority.accounts.consents import ConsentService
from authority.accounts.sessions import SessionService
from authority.web.edge import Edge, needs
from authority.web.requests import bearer_token
from authority.web.responses import NO_STORE, no_store

NO_SUCH_CONSENT = {"error": "not_found", "error_description": "no consent for this client"}
# What a client id can look like: visible ASCII, at most the column's 64 characters.
_CLIENT_ID = re.compile(r"[!-~]{1,64}")


@dataclass(frozen=True)
class ConsentEndpoints:
    edge: Edge
    sessions: SessionService  # who a bearer token belongs to
    consents: ConsentService


async def list_consents(request: Request) -> Response:
    endpoint = needs(request, ConsentEndpoints)
    now = endpoint.edge.now()
    token = bearer_token(request)

    def listed() -> list[dict[str, Any]]:
        user, _ = endpoint.sessions.authenticate(token, now)
        return endpoint.consents.list(user)

    return no_store({"consents": await endpoint.edge.in_thread(listed)})


async def withdraw_consent(request: Request) -> Response:
    endpoint = needs(request, ConsentEndpoints)
    now = endpoint.edge.now()
    token = bearer_token(request)
    client_id: str = request.path_params["client_id"]
    # An id no client can have (a NUL byte, which PostgreSQL refuses in text) is answered
    # as an unknown one, never sent to the database.
    known_shape = _CLIENT_ID.fullmatch(client_id) is not None

    def withdrawn() -> bool:
        user, _ = endpoint.sessions.authenticate(token, now)
        return known_shape and endpoint.consents.withdraw(user, client_id)

    if not await endpoint.edge.in_thread(withdrawn):
        return no_store(NO_SUCH_CONSENT, 404)
    return Response(status_code=204, headers=NO_STORE)
