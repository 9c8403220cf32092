"""The UserInfo endpoint (OIDC Core §5.3): the user's claims, released by scope."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authority.errors import InsufficientScope
from authority.oauth.tokens import user_claims
from authority.runtime import Authority
from authority.web.requests import bearer_token
from authority.web.responses import no_store
from authority.web.threads import in_thread


async def userinfo(request: Request) -> Response:
    authority: Authority = request.app.state.authority
    token = bearer_token(request)
    user, claims = await in_thread(
        authority, authority.sessions.authenticate, token, authority.now()
    )
    scope = frozenset(str(claims.get("scope", "")).split())
    if "openid" not in scope:
        raise InsufficientScope("userinfo needs an access token with the openid scope")
    return no_store({"sub": user.sub, **user_claims(user, scope)})
