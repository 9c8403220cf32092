"""The UserInfo endpoint (OIDC Core §5.3): the user's claims, released by scope."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from authority.accounts.sessions import SessionService
from authority.errors import InsufficientScope
from authority.oauth.tokens import user_claims
from authority.web.edge import Edge, needs
from authority.web.requests import bearer_token
from authority.web.responses import no_store


@dataclass(frozen=True)
class UserinfoEndpoint:
    edge: Edge
    sessions: SessionService


async def userinfo(request: Request) -> Response:
    endpoint = needs(request, UserinfoEndpoint)
    edge = endpoint.edge
    token = bearer_token(request)
    user, claims = await edge.in_thread(endpoint.sessions.authenticate, token, edge.now())
    scope = frozenset(str(claims.get("scope", "")).split())
    if "openid" not in scope:
        raise InsufficientScope("userinfo needs an access token with the openid scope")
    return no_store({"sub": user.sub, **user_claims(user, scope)})
