"""Token revocation (RFC 7009): a client ends its own tokens; anything else changes nothing."""

from __future__ import annotations

import logging

from authority.events import ActorKind, Events, EventType, unheard
from authority.oauth.presented import PresentedTokens
from authority.storage import Client

log = logging.getLogger("authority.audit")


class Revoker:
    def __init__(self, tokens: PresentedTokens, events: Events | None = None) -> None:
        self._tokens = tokens
        self._events = events or unheard()

    def revoke(self, token: str, client: Client, now: int) -> None:
        """RFC 7009 §2.1: unknown, expired or another client's tokens are answered the same."""
        sessions, client_id = self._tokens.sessions, client.client_id
        claims = self._tokens.access_claims(token, now)
        if claims is not None:
            if claims["client_id"] == client_id:
                # Denied until it would have expired anyway; introspection honours the list.
                sessions.deny_access_token(claims["jti"], int(claims["exp"]), now)
                log.info("access token revoked client_id=%s jti=%s", client_id, claims["jti"])
                self._events.record(
                    EventType.TOKEN_REVOKED,
                    ActorKind.CLIENT,
                    client_id,
                    claims.get("sub"),
                    client_id,
                    token_type="access_token",  # noqa: S106 (a token type, not a secret)
                    jti=claims["jti"],
                )
            return
        state = self._tokens.refresh_state(token, client)
        if state is not None:
            # RFC 7009 §2.1: revoking a refresh token ends the grant it belongs to (the
            # family) and with it the access tokens issued in that session.
            family = state.family
            sessions.revoke_family(family.family_id, now)
            log.info("session revoked client_id=%s sid=%s", client_id, family.family_id)
            self._events.record(
                EventType.TOKEN_REVOKED,
                ActorKind.CLIENT,
                client_id,
                family.sub,
                client_id,
                token_type="refresh_token",  # noqa: S106 (a token type, not a secret)
                session_id=family.family_id,
            )
