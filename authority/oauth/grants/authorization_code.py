"""The authorization code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636 §4.6).

A code is used once. Presenting it again is a sign that it leaked: the answer is
``invalid_grant``, and the session its first use started is revoked with every token issued
in it (RFC 6749 §4.1.2). A code binds its client, redirect URI and PKCE challenge: the
exchange must repeat the redirect URI exactly and prove the verifier.
"""

from __future__ import annotations

import hmac
import logging
import re
from typing import ClassVar

from authlib.oauth2.rfc7636 import create_s256_code_challenge

from authority.credentials.hashing import new_id
from authority.errors import InvalidGrantError
from authority.events import ActorKind, EventType
from authority.oauth import audience as audiences
from authority.oauth.grants.base import GrantContext, TokenRequest, TokenResponse
from authority.oauth.tokens import new_refresh_token
from authority.storage import (
    AuthorizationCode,
    Client,
    Family,
    IssuedAccess,
    RedemptionFailure,
    SessionStart,
    User,
)

log = logging.getLogger("authority.audit")
# RFC 7636 §4.1: 43 to 128 characters of the unreserved set.
VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_REASONS = {
    RedemptionFailure.UNKNOWN: "authorization code is invalid or expired",
    RedemptionFailure.OTHER_CLIENT: "authorization code was issued to another client",
    RedemptionFailure.USED: "authorization code was already used; what it issued is revoked",
}


class AuthorizationCodeGrant:
    grant_type: ClassVar[str] = "authorization_code"
    blocking: ClassVar[bool] = True  # one transaction: keep the event loop free
    max_threads: ClassVar[int] = 8  # as the refresh grant: fewer than the pool's connections

    def __init__(self, context: GrantContext) -> None:
        self.context = context

    def issue(self, request: TokenRequest) -> TokenResponse:
        ctx, client, params, now = self.context, request.client, request.params, request.now
        assert ctx.codes is not None
        presented = params.required("code")
        redirect_uri = params.required("redirect_uri")
        verifier = params.required("code_verifier")
        resources = params.all("resource")
        assert ctx.code_sealer is not None
        sealed = ctx.code_sealer.open(presented)
        if sealed is None:
            raise InvalidGrantError(_REASONS[RedemptionFailure.UNKNOWN])
        if sealed.client_id != client.client_id:
            raise InvalidGrantError(_REASONS[RedemptionFailure.OTHER_CLIENT])
        if sealed.expires_at <= now:
            # Expired; but a late replay of a code that was used still ends what it began.
            self._revoke_replayed(ctx.codes.redeemed_family(sealed.code_hash), client, now)
            raise InvalidGrantError(_REASONS[RedemptionFailure.UNKNOWN])

        # Both before the redemption commits: a failure leaves the code to a retry.
        extra = ctx.extra_claims(sealed.sub, client.client_id, sealed.scope, self.grant_type)
        ctx.minter.check_signing(client.access_token_alg)
        family_id = new_id()
        refreshable = "refresh_token" in client.grant_types
        refresh = new_refresh_token() if refreshable else None
        # A login without refresh tokens is a family of its one access token (its jti).
        access_jti = new_id() if refreshable else family_id
        access_expires_at = ctx.minter.expires_at(now)
        issued: dict[str, Family] = {}

        def start(found: AuthorizationCode, user: User) -> SessionStart:
            """The session this redemption starts, recorded in its transaction. The checks
            come first: a failing one rolls the redemption back, so someone holding a stolen
            code but not the verifier cannot use it up before its client does."""
            _check(found, client, redirect_uri, verifier)
            audience = audiences.narrow(resources, found.audience)
            family = Family(
                family_id=family_id,
                client_id=client.client_id,
                sub=user.sub,
                scope=found.scope,
                audience=audience,
                auth_time=found.auth_time,
                created_at=now,
                last_used_at=now,
                expires_at=now + ctx.session_max_age if refreshable else access_expires_at,
                refreshable=refreshable,
                browser_session_id=found.browser_session_id,
            )
            issued["family"] = family
            if refresh is None:
                return SessionStart(family)
            access = IssuedAccess(access_jti, access_expires_at)
            token_hash = ctx.digest.digest(refresh)
            return SessionStart(family, token_hash, now + ctx.refresh_token_ttl, access)

        redemption = ctx.codes.redeem_code(sealed, family_id, now, start)
        if redemption.failure is RedemptionFailure.USED:
            self._revoke_replayed(redemption.family_id, client, now)
        if redemption.code is None or redemption.user is None:
            assert redemption.failure is not None
            raise InvalidGrantError(_REASONS[redemption.failure])
        found, user, family = redemption.code, redemption.user, issued["family"]
        token = ctx.minter.access_token(
            sub=user.sub,
            client_id=client.client_id,
            scope=family.scope,
            audience=family.audience,
            now=now,
            auth_time=found.auth_time,
            amr=found.amr,
            alg=client.access_token_alg,
            jti=access_jti,
            sid=family_id,
            extra=extra,
        )
        id_token = None
        if "openid" in family.scope and ctx.id_tokens is not None:
            id_token = ctx.id_tokens.issue(
                user,
                client,
                family.scope,
                now,
                found.auth_time,
                amr=found.amr,
                nonce=found.nonce,
                sid=found.browser_session_id,
                access_token=token.token,
            )
        return TokenResponse(token, family.scope, refresh, id_token)

    def _revoke_replayed(self, family_id: str | None, client: Client, now: int) -> None:
        """A code used twice has leaked: end the session its first use started."""
        if family_id is None:
            return
        self.context.sessions.revoke_family(family_id, now)
        log.warning(
            "authorization code replayed client_id=%s: its session revoked", client.client_id
        )
        self.context.events.record(
            EventType.SESSION_REVOKED,
            ActorKind.CLIENT,
            client.client_id,
            None,
            client.client_id,
            session_id=family_id,
            reason="authorization code replay",
        )


def _check(found: AuthorizationCode, client: Client, redirect_uri: str, verifier: str) -> None:
    """RFC 6749 §4.1.3 (the same redirect URI) and RFC 7636 §4.6 (the verifier)."""
    if not hmac.compare_digest(found.redirect_uri.encode(), redirect_uri.encode()):
        raise InvalidGrantError("redirect_uri differs from the authorization request's")
    if VERIFIER.fullmatch(verifier) is None:
        raise InvalidGrantError("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
    challenge: str = create_s256_code_challenge(verifier)  # type: ignore[no-untyped-call]  # authlib
    if not hmac.compare_digest(challenge.encode(), found.code_challenge.encode()):
        raise InvalidGrantError("code_verifier does not match the code_challenge")
    assert found.client_id == client.client_id
