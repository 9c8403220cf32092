"""What every endpoint takes from the runtime (the clock, the deadline of blocking work, the
rule for the caller's address), and the lookup of an endpoint's own collaborators.

Each endpoint module declares the few collaborators it uses in a frozen dataclass; the app
builds one of each from the runtime at start (``authority.web.app``) and an endpoint finds
its own with ``needs(request, ItsClass)``: no endpoint sees the whole runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar, TypeVarTuple

import anyio
from starlette.requests import Request

from authority.errors import InvalidClientError
from authority.oauth import client_auth
from authority.oauth.client_auth import ClientAuthenticator
from authority.oauth.params import Params
from authority.storage import Client
from authority.web.access_log import CLIENT_ID
from authority.web.requests import client_ip
from authority.web.threads import in_thread

T = TypeVar("T")
Args = TypeVarTuple("Args")


@dataclass(frozen=True)
class Edge:
    clock: Callable[[], int]
    deadline: float  # AUTHORITY_DATABASE_TIMEOUT
    trusted_proxy_header: str | None  # AUTHORITY_TRUSTED_PROXY_HEADER

    def now(self) -> int:
        return self.clock()

    async def in_thread(
        self,
        work: Callable[[*Args], T],
        *args: *Args,
        limiter: anyio.CapacityLimiter | None = None,
    ) -> T:
        """``work`` in a thread, within the deadline (see ``threads.in_thread``)."""
        return await in_thread(self.deadline, work, *args, limiter=limiter)

    def client_ip(self, request: Request) -> str | None:
        return client_ip(request, self.trusted_proxy_header)


def needs(request: Request, kind: type[T]) -> T:
    """The collaborators of one endpoint module, as the app built them at start."""
    found = request.app.state.endpoints[kind]
    assert isinstance(found, kind)
    return found


async def authenticate_client(
    request: Request,
    params: Params,
    clients: ClientAuthenticator,
    edge: Edge,
    public: bool = True,
) -> Client:
    """Client authentication for the token, revocation and introspection endpoints: on the
    event loop when the client is cached, else in a thread (the lookup reads the database).
    ``public`` False: an endpoint a public client may not call (it proves nothing)."""
    credentials = client_auth.credentials(request.headers.get("authorization"), params)
    client = clients.authenticate_cached(credentials)
    if client is None:
        client = await edge.in_thread(clients.authenticate, credentials)
    setattr(request.state, CLIENT_ID, client.client_id)  # for the request's access line
    if client.public and not public:
        raise InvalidClientError("a public client may not use this endpoint")
    return client
