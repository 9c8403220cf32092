"""Single sign-on: a person signed in on the hosted pages, in one browser, and the CSRF
tokens of that browser's forms. No HTTP in here: the web layer carries the cookie."""

from __future__ import annotations

import hmac

from authority.credentials.hashing import SecretDigest, new_id, new_secret
from authority.storage import BrowserSession, BrowserSessionStore, User

# A cookie value longer than this is no value of ours: never hashed, never looked up.
MAX_COOKIE_LENGTH = 100


class BrowserSignIns:
    def __init__(self, store: BrowserSessionStore, digest: SecretDigest, max_age: int) -> None:
        self._store = store
        self._digest = digest
        self.max_age = max_age

    def start(self, user: User, amr: tuple[str, ...], now: int) -> tuple[str, BrowserSession]:
        """Sign ``user`` in: a new browser session, and the secret its cookie carries (a new
        one at every sign-in, so a value planted before it is worth nothing after)."""
        secret = new_secret()
        session = BrowserSession(
            session_id=new_id(),
            sub=user.sub,
            auth_time=now,
            amr=amr,
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.max_age,
        )
        self._store.start_browser_session(session, self._digest.digest(secret))
        return secret, session

    def find(self, secret: str | None, now: int) -> BrowserSession | None:
        """The live browser session the cookie's ``secret`` belongs to, if any."""
        if not secret or len(secret) > MAX_COOKIE_LENGTH:
            return None
        return self._store.find_browser_session(self._digest.digest(secret), now)

    def end(self, session_id: str, now: int, sub: str | None = None) -> bool:
        """Sign a browser out; every session (refresh family) started from it ends too."""
        return self._store.end_browser_session(session_id, now, sub)

    def list(self, sub: str, now: int) -> list[BrowserSession]:
        return self._store.list_browser_sessions(sub, now)

    # -- CSRF ------------------------------------------------------------------------------

    def csrf_token(self, cookie: str) -> str:
        """The CSRF token of the forms shown to the browser holding ``cookie`` (signed in or
        not): a keyed hash of it, so another site can neither read nor make one."""
        return self._digest.digest("csrf\x00" + cookie)

    def csrf_ok(self, cookie: str | None, token: str | None) -> bool:
        if not cookie or not token or len(cookie) > MAX_COOKIE_LENGTH:
            return False
        return hmac.compare_digest(self.csrf_token(cookie), token)
