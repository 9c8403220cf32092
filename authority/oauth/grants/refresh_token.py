"""The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14).

Presenting a refresh token that was already used is a reuse: its family (the session) is
revoked. One exception, so that a client that never got its answer (the connection dropped,
the server died, the answer to COMMIT was lost) keeps its session when it sends the same
request again: a token used less than ``refresh_reuse_window`` seconds ago
(``AUTHORITY_REFRESH_REUSE_WINDOW``, 0 turns this off), presented by its own client, whose
successor has not been used yet, is a retry. The unused successor stops working, its access
token is denied, and a fresh successor is issued in its place. The window counts from the
token's first use, so retries never extend it. Outside the window, or once the successor was
used (or superseded by another retry), it is a reuse. Of two retries racing inside the
window, one wins; the other is a reuse.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from authority.errors import InvalidGrantError, RefreshTokenEnded
from authority.events import ActorKind, EventType
from authority.oauth import audience as audiences
from authority.oauth import scopes
from authority.oauth.grants.base import GrantContext, TokenRequest, TokenResponse
from authority.oauth.tokens import new_jti, new_refresh_token
from authority.storage import IssuedAccess, Rotation, RotationFailure, UsedToken

log = logging.getLogger("authority.audit")
_REASONS = {
    RotationFailure.UNKNOWN: "refresh token is invalid, expired or revoked",
    RotationFailure.OTHER_CLIENT: "refresh token was issued to another client",
    RotationFailure.USED: "refresh token was already used; its session is revoked",
}


class RefreshTokenGrant:
    grant_type: ClassVar[str] = "refresh_token"
    # Several statements in one transaction: keep the event loop free.
    blocking: ClassVar[bool] = True
    # Fewer threads than the connection pool holds (10): more would only wait for, or churn,
    # database connections.
    max_threads: ClassVar[int] = 8

    def __init__(self, context: GrantContext) -> None:
        self.context = context

    def issue(self, request: TokenRequest) -> TokenResponse:
        ctx, client, params, now = self.context, request.client, request.params, request.now
        presented = params.required("refresh_token")
        requested_scope = scopes.parse(params.one("scope"))
        requested_resources = params.all("resource")
        presented_hash = ctx.digest.digest(presented)
        extra: dict[str, Any] | None = None  # the claims hook's, once known
        if requested_scope is not None or requested_resources or ctx.claims_hook is not None:
            # Check narrowing, and call the claims hook, before consuming, so neither a bad
            # request nor a failing hook ends the session; only for the client's own unused
            # token: another client learns nothing of the session, and a used token still
            # reaches the rotation below (a retry, or a reuse that revokes the family).
            state = ctx.sessions.inspect_refresh_token(presented_hash)
            if state and state.used_at is None and state.family.client_id == client.client_id:
                granted = scopes.narrow(requested_scope, state.family.scope)
                audiences.narrow(requested_resources, state.family.audience)
                extra = ctx.extra_claims(
                    state.family.sub, client.client_id, granted, self.grant_type
                )

        ctx.minter.check_signing(client.access_token_alg)  # before the rotation commits
        successor, jti = new_refresh_token(), new_jti()
        successor_hash, access = (
            ctx.digest.digest(successor),
            IssuedAccess(jti, ctx.minter.expires_at(now)),
        )
        rotation = ctx.sessions.rotate_refresh_token(
            presented_hash, successor_hash, client.client_id, now, ctx.refresh_token_ttl, access
        )
        if rotation.failure is RotationFailure.USED:
            assert rotation.used is not None
            rotation = self._retried(rotation.used, presented_hash, successor_hash, request, access)
        if rotation.family is None:
            assert rotation.failure is not None
            if rotation.failure is RotationFailure.OTHER_CLIENT:  # its own client keeps it
                raise InvalidGrantError(_REASONS[rotation.failure])
            raise RefreshTokenEnded(_REASONS[rotation.failure])
        # The rotation itself refused a disabled user's or another client's session.
        family = rotation.family
        scope = scopes.narrow(requested_scope, family.scope)
        audience = audiences.narrow(requested_resources, family.audience)
        if extra is None:  # not asked above (a retry's token was used): after the swap
            extra = ctx.extra_claims(family.sub, client.client_id, scope, self.grant_type)
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
            extra=extra,
        )
        return TokenResponse(token, scope, successor)

    def _retried(
        self,
        used: UsedToken,
        presented_hash: str,
        successor_hash: str,
        request: TokenRequest,
        access: IssuedAccess,
    ) -> Rotation:
        """A used token: the client's retry of a refresh whose answer it never got, or a
        reuse, which revokes the family before we answer (the rule is the module's)."""
        ctx, now, client_id = self.context, request.now, request.client.client_id
        if self._is_retry(used, now):
            assert used.successor_hash is not None
            family = ctx.sessions.replace_successor(
                presented_hash,
                used.successor_hash,
                successor_hash,
                client_id,
                now,
                ctx.refresh_token_ttl,
                access,
            )
            if family is not None:
                log.info("refresh retried client_id=%s sid=%s", client_id, family.family_id)
                return Rotation(family)
        ctx.sessions.revoke_family(used.family_id, now)
        log.warning("refresh token reuse client_id=%s: family revoked", client_id)
        for event, detail in (
            (EventType.REFRESH_REUSED, {}),
            (EventType.SESSION_REVOKED, {"reason": "refresh token reuse"}),
        ):
            ctx.events.record(
                event,
                ActorKind.CLIENT,
                client_id,
                used.sub,
                client_id,
                session_id=used.family_id,
                **detail,
            )
        return Rotation(None, RotationFailure.USED)

    def _is_retry(self, used: UsedToken, now: int) -> bool:
        window = self.context.refresh_reuse_window
        return (
            window > 0
            and now - used.used_at < window
            and used.successor_hash is not None
            and used.successor_used_at is None
        )
