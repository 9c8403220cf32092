"""The admin API (``/admin/...``, AUTHORITY_ADMIN_API=on): the operations of `authority
clients|users|keys`, run by the same use cases (``authority.admin``) and answering the same
JSON objects as their ``--json``, for the bearer token of an admin client.

Every request is authorised before anything of it is read: no token, or one that is not a
live access token of ours, is 401 with a Bearer challenge; a good token without the
``authority:admin`` scope is 403 ``insufficient_scope``. Then a use case's refusals become
400 (with ``field``, the member at fault), 404 (an unknown client, user or session) or 409
(what is stored refuses it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, Router
from starlette.types import Receive, Scope, Send

from authority.admin.actor import Actor
from authority.admin.errors import AdminError, Refused
from authority.admin.errors import NotFound as Unknown
from authority.admin.provision import Admin
from authority.errors import Conflicting, InvalidField, NotFound, description_text
from authority.events import ActorKind
from authority.oauth.admin_tokens import AdminTokens
from authority.storage import Conflict
from authority.web.access_log import CLIENT_ID
from authority.web.edge import Edge, needs
from authority.web.requests import bearer_token
from authority.web.responses import no_store

T = TypeVar("T")
Handler = Callable[[Request], Awaitable[Response]]
# Members a use case names that the API calls otherwise (see AdminError.field).
NO_ALIASES: Mapping[str, str] = {}


@dataclass(frozen=True)
class AdminEndpoints:
    """Built only when AUTHORITY_ADMIN_API is on. ``admin`` records into the running
    authority's events, so the server's audit writer keeps each change."""

    edge: Edge
    tokens: AdminTokens
    admin: Admin


class AdminApi:
    """The routes under ``/admin``, answered only while the admin API is on. Off, every path
    under it is the 404 of a path that does not exist, whatever the method."""

    def __init__(self, routes: list[BaseRoute]) -> None:
        self._router = Router(routes)

    @property
    def routes(self) -> list[BaseRoute]:
        return self._router.routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if AdminEndpoints not in getattr(scope["app"].state, "endpoints", {}):
            raise HTTPException(404)
        await self._router(scope, receive, send)


def resource(path: str, name: str, **handlers: Handler) -> Route:
    """One route for a path and all its methods (``GET=...``, ``POST=...``): a method it does
    not take is a 405 whose ``Allow`` lists them all (a route per method would list its own)."""

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return Route(path, dispatch, methods=list(handlers), name=name)


@dataclass(frozen=True)
class AdminCall:
    """One authorised request: the admin client it is made by (``actor``, whom each change
    it makes is recorded as: pass it as the use case's ``by``) and what runs its use case."""

    endpoint: AdminEndpoints
    actor: Actor  # the admin client, by its client_id

    @property
    def admin(self) -> Admin:
        return self.endpoint.admin

    def now(self) -> int:
        return self.endpoint.edge.now()

    async def run(self, work: Callable[[], T], aliases: Mapping[str, str] = NO_ALIASES) -> T:
        """``work`` (a use case) in a thread within the database deadline, its refusals as
        HTTP errors. ``aliases``: this operation's names for the members a use case names."""

        def answered() -> T:
            try:
                return work()
            except Unknown as exc:
                raise NotFound(description_text(str(exc))) from None
            except Refused as exc:
                raise Conflicting(description_text(str(exc))) from None
            except AdminError as exc:
                field = aliases.get(exc.field or "", exc.field)
                raise InvalidField(description_text(str(exc)), field) from None
            except Conflict as exc:
                raise Conflicting(description_text(str(exc))) from None

        return await self.endpoint.edge.in_thread(answered)


async def authorised(request: Request) -> AdminCall:
    """The request's admin client, from its bearer token (RFC 6750 §2.1)."""
    endpoint = needs(request, AdminEndpoints)
    token = bearer_token(request)
    edge = endpoint.edge
    client = await edge.in_thread(endpoint.tokens.authenticate, token, edge.now())
    setattr(request.state, CLIENT_ID, client.client_id)  # for the request's access line
    return AdminCall(endpoint, Actor(ActorKind.CLIENT, client.client_id))


def answer(data: dict[str, Any], status: int = 200) -> Response:
    """An answer of the admin API: never cached, as it may carry a secret shown once."""
    return no_store(data, status)
