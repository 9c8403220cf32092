"""Token revocation (RFC 7009): a client ends its own tokens; anything else changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable

from authority.hashing import SecretDigest
from authority.keys import KeyRing
from authority.storage import Client, SessionStore
from authority.validation import (
    MAX_REFRESH_TOKEN_LENGTH,
    InvalidAccessToken,
    looks_like_jwt,
    validate,
)

log = logging.getLogger("authority.audit")


class Revoker:
    def __init__(
        self,
        issuer: str,
        ring: Callable[[], KeyRing],
        sessions: SessionStore,
        digest: SecretDigest,
    ) -> None:
        self.issuer = issuer
        self._ring = ring
        self._sessions = sessions
        self._digest = digest

    def revoke(self, token: str, client: Client, now: int) -> None:
        """RFC 7009 §2.1: unknown, expired or another client's tokens are answered the same."""
        if looks_like_jwt(token):
            self._access_token(token, client, now)
        elif len(token) <= MAX_REFRESH_TOKEN_LENGTH:
            self._refresh_token(token, client, now)

    def _access_token(self, token: str, client: Client, now: int) -> None:
        try:
            claims = validate(token, self._ring(), self.issuer, now)
        except InvalidAccessToken:
            return  # expired or not ours: nothing left to revoke
        if claims["client_id"] != client.client_id:
            return
        # Denied until it would have expired anyway; introspection honours the list.
        self._sessions.deny_access_token(claims["jti"], int(claims["exp"]), now)
        log.info("access token revoked client_id=%s jti=%s", client.client_id, claims["jti"])

    def _refresh_token(self, token: str, client: Client, now: int) -> None:
        state = self._sessions.inspect_refresh_token(self._digest.digest(token))
        if state is None or state.family.client_id != client.client_id:
            return
        # RFC 7009 §2.1: revoking a refresh token ends the grant it belongs to (the family)
        # and with it the access tokens issued in that session.
        self._sessions.revoke_family(state.family.family_id, now)
        log.info("session revoked client_id=%s sid=%s", client.client_id, state.family.family_id)
