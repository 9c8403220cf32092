"""The token endpoint (RFC 6749 §3.2): parse, authenticate the client, dispatch to a grant.

A cookie-mode client (``authority.web.refresh_cookie``) gets its refresh token in the cookie,
never in the body, and refreshes with the cookie; each of its requests must come from one of
its allowed origins with the CSRF header."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import anyio
from starlette.requests import Request
from starlette.responses import Response

from authority.errors import InvalidRequestError, RefreshTokenEnded
from authority.events import ActorKind, Events, EventType
from authority.oauth.client_auth import ClientAuthenticator
from authority.oauth.grants import GrantRegistry, TokenRequest
from authority.oauth.grants.refresh_token import RefreshTokenGrant
from authority.oauth.params import Params
from authority.web.edge import Edge, authenticate_client, needs
from authority.web.refresh_cookie import RefreshCookies, check_csrf
from authority.web.requests import read_form
from authority.web.responses import error_response, no_store

REFRESH = RefreshTokenGrant.grant_type
BOTH = "send the refresh token in the cookie or as refresh_token, not both"
NO_COOKIE = "missing parameter: refresh_token (and no refresh cookie: sign in again)"


@dataclass(frozen=True)
class TokenEndpoint:
    edge: Edge
    grants: GrantRegistry
    clients: ClientAuthenticator
    # A grant that caps itself has a limiter of its own, by grant type (slow logins queue
    # on the event loop and never take the threads that refreshes need).
    limiters: Mapping[str, anyio.CapacityLimiter]
    cookies: RefreshCookies
    events: Events


def _from_cookie(request: Request, params: Params, cookies: RefreshCookies) -> Params | None:
    """A cookie-mode refresh's parameters with the cookie's token as ``refresh_token``; None
    when the request names its refresh token itself."""
    cookie = cookies.read(request)
    if "refresh_token" in params:
        if cookie is not None:
            raise InvalidRequestError(BOTH)
        return None
    if cookie is None:
        raise InvalidRequestError(NO_COOKIE)
    return params.with_value("refresh_token", cookie)


async def token(request: Request) -> Response:
    endpoint = needs(request, TokenEndpoint)
    edge, cookies = endpoint.edge, endpoint.cookies
    params = await read_form(request)
    grant_type = params.one("grant_type")
    if grant_type is None:
        raise InvalidRequestError("missing parameter: grant_type")
    grant = endpoint.grants.get(grant_type)
    client = await authenticate_client(request, params, endpoint.clients, edge)
    endpoint.grants.check_allowed(grant, client)
    from_cookie = False
    if client.refresh_cookie:
        check_csrf(request, client)
        if grant.grant_type == REFRESH:
            cookie_params = _from_cookie(request, params, cookies)
            from_cookie = cookie_params is not None
            params = cookie_params or params
    token_request = TokenRequest(
        client=client, params=params, now=edge.now(), client_ip=edge.client_ip(request)
    )
    try:
        if grant.blocking:
            threads = endpoint.limiters.get(grant.grant_type)
            result = await edge.in_thread(grant.issue, token_request, limiter=threads)
        else:
            result = grant.issue(token_request)
    except RefreshTokenEnded as exc:
        if not from_cookie:
            raise
        # The cookie's token will never work again (reused, revoked, expired, or no token at
        # all): the browser forgets it, and its app knows to sign in again.
        answer = error_response(exc)
        cookies.clear(answer)
        return answer
    endpoint.events.record(
        EventType.TOKEN_ISSUED,
        ActorKind.CLIENT,
        client.client_id,
        None,
        client.client_id,
        grant_type=grant.grant_type,
    )
    body = result.as_dict()
    if not client.refresh_cookie or result.refresh_token is None:
        return no_store(body)
    del body["refresh_token"]
    response = no_store(body)
    cookies.put(response, result.refresh_token)
    return response
