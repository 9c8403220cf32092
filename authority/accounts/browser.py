"""Single sign-on: a person signed in on the hosted pages, in one browser, and the CSRF
tokens of that browser's forms. No HTTP in here: the web layer carries the cookie."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable

from authority.credentials.hashing import SecretDigest, new_id, new_secret
from authority.events import ActorKind, Events, EventType, unheard
from authority.storage import BrowserSession, BrowserSessionStore, User

# A cookie value longer than this is no value of ours: never hashed, never looked up.
MAX_COOKIE_LENGTH = 100
# How long a process trusts a browser session it has looked up: single sign-on then costs no
# database read. A sign-out here takes effect at once, and a user disabled or deleted anywhere
# as soon as this process is told (``forget_user``); a sign-out on another replica within this
# bound, and no token comes of it even then: redeeming a code checks the browser session and
# the user again.
CACHE_SECONDS = 1.0
CACHE_ENTRIES = 10_000


class BrowserSignIns:
    def __init__(
        self,
        store: BrowserSessionStore,
        digest: SecretDigest,
        max_age: int,
        clock: Callable[[], float] = time.monotonic,
        events: Events | None = None,
    ) -> None:
        self._store = store
        self._events = events or unheard()
        self._digest = digest
        self.max_age = max_age
        self._clock = clock
        self._cache: dict[str, tuple[float, BrowserSession]] = {}
        self._epoch = 0  # moved by ``forget_user``: a session read meanwhile is not kept

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
        secret_hash = self._digest.digest(secret)
        self._store.start_browser_session(session, secret_hash)
        self._remember(secret_hash, session)
        return secret, session

    def find(self, secret: str | None, now: int) -> BrowserSession | None:
        """The live browser session the cookie's ``secret`` belongs to, if any."""
        if not secret or len(secret) > MAX_COOKIE_LENGTH:
            return None
        secret_hash = self._digest.digest(secret)
        hit = self._cache.get(secret_hash)
        if hit is not None and hit[0] > self._clock():
            return hit[1] if hit[1].expires_at > now else None
        epoch = self._epoch
        session = self._store.find_browser_session(secret_hash, now)
        if session is None:
            self._cache.pop(secret_hash, None)
        else:
            self._remember(secret_hash, session)
            if epoch != self._epoch:  # a user changed meanwhile: this may predate it
                self._cache.pop(secret_hash, None)
        return session

    def end(self, session_id: str, now: int, sub: str | None = None) -> bool:
        """Sign a browser out; every session (refresh family) started from it ends too."""
        self._forget(session_id)
        ended = self._store.end_browser_session(session_id, now, sub)
        self._forget(session_id)  # a lookup racing the sign-out may have cached it again
        return ended

    def sign_out(self, secret: str | None, now: int, client_id: str | None = None) -> bool:
        """Logout: the browser holding the cookie ``secret`` is signed out, with every session
        started from it; False when it was not signed in. ``client_id``: the client whose
        logout request it was, if any."""
        session = self.find(secret, now)
        if session is None or not self.end(session.session_id, now):
            return False
        self._events.record(
            EventType.LOGOUT,
            ActorKind.USER,
            session.sub,
            session.sub,
            client_id,
            session_id=session.session_id,
            way="logout page",
        )
        return True

    def _remember(self, secret_hash: str, session: BrowserSession) -> None:
        if len(self._cache) >= CACHE_ENTRIES:
            self._cache.clear()
        self._cache[secret_hash] = (self._clock() + CACHE_SECONDS, session)

    def forget_user(self, sub: str | None) -> None:
        """A user changed elsewhere (disabled, deleted): drop their cached browser sessions
        (None: every user's)."""
        self._epoch += 1
        for key, (_, session) in list(self._cache.items()):
            if sub is None or session.sub == sub:
                self._cache.pop(key, None)

    def _forget(self, session_id: str) -> None:
        for key, (_, session) in list(self._cache.items()):
            if session.session_id == session_id:
                self._cache.pop(key, None)

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
