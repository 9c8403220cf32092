"""The resource owner password credentials grant (RFC 6749 §4.3), for first-party apps."""

from __future__ import annotations

import logging
from typing import ClassVar

from authority.credentials.hashing import new_id, usable_cpus
from authority.credentials.login import LoginRefused, PasswordLogin
from authority.errors import InvalidGrantError
from authority.oauth import audience as audiences
from authority.oauth import scopes
from authority.oauth.grants.base import GrantContext, TokenRequest, TokenResponse
from authority.oauth.tokens import new_refresh_token
from authority.storage import Family, IssuedAccess

log = logging.getLogger("authority.audit")


class PasswordGrant:
    grant_type: ClassVar[str] = "password"
    blocking: ClassVar[bool] = True  # argon2id costs tens of milliseconds by design
    # One argon2 run per core at a time; more would only add memory, not throughput.
    max_threads: ClassVar[int] = usable_cpus()

    def __init__(self, context: GrantContext) -> None:
        self.context = context
        self.login = PasswordLogin(
            context.users,
            context.passwords,
            context.throttle,
            context.require_verified_email,
            context.events,
        )

    def issue(self, request: TokenRequest) -> TokenResponse:
        ctx, client, params, now = self.context, request.client, request.params, request.now
        username = params.required("username")
        password = params.required("password")
        scope = scopes.grant(
            scopes.parse(params.one("scope")), client.scopes, client.default_scopes
        )
        audience = audiences.of_login(params.all("resource"), client.audiences, scope, ctx.issuer)

        try:
            user = self.login.check(
                username, password, request.client_ip, now, "password grant", client.client_id
            )
        except LoginRefused as refused:
            raise InvalidGrantError(refused.reason) from None

        # Every login starts a session (a family), whose id is the tokens' sid, so the user
        # can end it and logging out everywhere ends it. A client allowed refresh tokens gets
        # a refresh-token family; any other login is a family of its one access token, whose
        # jti is the family id: one insert, and ending the family denies that token.
        extra = ctx.extra_claims(user, client.client_id, scope, self.grant_type)
        refreshable = "refresh_token" in client.grant_types
        sid = new_id()
        token = ctx.minter.access_token(
            sub=user.sub,
            client_id=client.client_id,
            scope=scope,
            audience=audience,
            now=now,
            auth_time=now,
            amr=("pwd",),
            alg=client.access_token_alg,
            jti=None if refreshable else sid,
            sid=sid,
            extra=extra,
        )
        family = Family(
            family_id=sid,
            client_id=client.client_id,
            sub=user.sub,
            scope=scope,
            audience=audience,
            auth_time=now,
            created_at=now,
            last_used_at=now,
            expires_at=now + ctx.session_max_age if refreshable else token.expires_at,
            refreshable=refreshable,
        )
        refresh = None
        if refreshable:
            refresh = new_refresh_token()
            access = IssuedAccess(token.jti, token.expires_at)
            expires_at = now + ctx.refresh_token_ttl  # storage caps it at the family's end
            ctx.sessions.start_family(family, ctx.digest.digest(refresh), expires_at, access)
        else:
            ctx.sessions.start_family(family)
        id_token = None
        if "openid" in scope and ctx.id_tokens is not None:
            id_token = ctx.id_tokens.issue(user, client, scope, now, auth_time=now)
        log.info("password grant client_id=%s sub=%s", client.client_id, user.sub)
        return TokenResponse(token, scope, refresh, id_token)
