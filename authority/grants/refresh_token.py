"""The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14)."""

from __future__ import annotations

import logging

from authority import scopes
from authority.errors import InvalidGrantError, InvalidTarget, quoted
from authority.grants.base import GrantContext, TokenRequest, TokenResponse
from authority.storage import IssuedAccess, RotationFailure
from authority.tokens import new_jti, new_refresh_token

log = logging.getLogger("authority.audit")
_REASONS = {
    RotationFailure.UNKNOWN: "refresh token is invalid, expired or revoked",
    RotationFailure.OTHER_CLIENT: "refresh token was issued to another client",
    RotationFailure.REUSED: "refresh token was already used; its session is revoked",
}


class RefreshTokenGrant:
    grant_type = "refresh_token"
    blocking = True  # several statements in one transaction: keep the event loop free
    # Fewer threads than the connection pool holds (10): more would only wait for, or churn,
    # database connections.
    max_threads = 8

    def __init__(self, context: GrantContext) -> None:
        self.context = context

    def issue(self, request: TokenRequest) -> TokenResponse:
        ctx, client, params, now = self.context, request.client, request.params, request.now
        presented = params.required("refresh_token")
        requested_scope = scopes.parse(params.one("scope"))
        requested_resources = params.all("resource")
        presented_hash = ctx.digest.digest(presented)
        if requested_scope is not None or requested_resources:
            # Check narrowing before consuming, so a bad request does not end the session;
            # only for the client's own unused token: another client learns nothing of the
            # session, and a replay still reaches the rotation below, which revokes the family.
            state = ctx.sessions.inspect_refresh_token(presented_hash)
            if state and state.used_at is None and state.family.client_id == client.client_id:
                scopes.narrow(requested_scope, state.family.scope)
                _narrow_audience(requested_resources, state.family.audience)

        ctx.minter.check_signing(client.access_token_alg)  # before the rotation commits
        successor, jti = new_refresh_token(), new_jti()
        rotation = ctx.sessions.rotate_refresh_token(
            presented_hash,
            ctx.digest.digest(successor),
            client.client_id,
            now,
            ctx.refresh_token_ttl,
            IssuedAccess(jti, now + ctx.minter.ttl),
        )
        if rotation.family is None:
            assert rotation.failure is not None
            if rotation.failure is RotationFailure.REUSED:
                log.warning("refresh token reuse client_id=%s: family revoked", client.client_id)
            raise InvalidGrantError(_REASONS[rotation.failure])
        # The rotation itself refused a disabled user's or another client's session.
        family = rotation.family
        scope = scopes.narrow(requested_scope, family.scope)
        audience = _narrow_audience(requested_resources, family.audience)
        token = ctx.minter.access_token(
            sub=family.sub,
            client_id=client.client_id,
            scope=scope,
            audience=audience,
            now=now,
            auth_time=family.auth_time,
            amr=("pwd",),
            alg=client.access_token_alg,
            jti=jti,
            sid=family.family_id,
        )
        return TokenResponse(token, scope, successor)


def _narrow_audience(requested: list[str], granted: tuple[str, ...]) -> tuple[str, ...]:
    if not requested:
        return granted
    extra = [r for r in requested if r not in granted]
    if extra:
        raise InvalidTarget(
            f"resource was not part of the original grant: {quoted(' '.join(extra))}"
        )
    return tuple(dict.fromkeys(requested))
