"""Browser origins (RFC 6454): which a client may register as the origin its pages are served
from, and, for CORS, which origins any client's pages come from (a snapshot that is never
read from storage on a request's way).

An origin is registered in the form a browser sends it in the ``Origin`` header (scheme,
host and a port only when it is not the scheme's default, all lower case), so a request's
origin matches by exact string."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from enum import Enum
from urllib.parse import urlsplit

from authority.oauth.redirects import LOOPBACK_HOSTS
from authority.storage import Client, OriginStore

MAX_LENGTH = 300
DEFAULT_PORTS = {"http": 80, "https": 443}
_SHAPE = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#@\s\\]+")


def canonical(origin: str) -> str:
    """``origin`` as a browser spells it in ``Origin``; ValueError says why it cannot be one:
    a path, query or user name; anything but https, or http on a loopback host."""
    if not origin or len(origin) > MAX_LENGTH:
        raise ValueError(f"an origin holds 1 to {MAX_LENGTH} characters")
    lowered = origin.lower()
    if not _SHAPE.fullmatch(lowered.removesuffix("/")):
        raise ValueError(
            f"{origin!r} is not an origin: scheme://host[:port], with no path, query or user "
            "name (e.g. https://app.example)"
        )
    try:
        parts = urlsplit(lowered)
        port = parts.port
    except ValueError:
        raise ValueError(f"{origin!r} is not a valid origin") from None
    host = parts.hostname or ""
    if parts.scheme not in DEFAULT_PORTS or not host:
        raise ValueError(f"{origin!r} is not an http or https origin")
    shown_host = f"[{host}]" if ":" in host else host
    if parts.scheme == "http" and shown_host not in LOOPBACK_HOSTS:
        raise ValueError(
            f"{origin!r}: an origin must be https, or http on a loopback host "
            f"({', '.join(LOOPBACK_HOSTS)})"
        )
    if port is None or port == DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{shown_host}"
    return f"{parts.scheme}://{shown_host}:{port}"


def allows(client: Client, origin: str | None) -> bool:
    """Whether a request that says it comes from ``origin`` may act for ``client``."""
    return origin is not None and origin in client.allowed_origins


class Cors(Enum):
    """What an origin's answers may carry."""

    PLAIN = "plain"  # CORS headers, no credentials: a client that holds its tokens itself
    CREDENTIALS = "credentials"  # and Access-Control-Allow-Credentials: a cookie-mode client


class BrowserOrigins:
    """Every enabled client's allowed origins, read from storage again by ``refresh`` (off
    the event loop) once a client changed (``invalidate``) or ``ttl`` seconds have passed;
    ``policy`` reads memory alone."""

    def __init__(
        self, store: OriginStore, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._policies: dict[str, Cors] = {}
        self._fresh_until = float("-inf")
        # Moved by ``invalidate``; the snapshot is fresh only if read since the last move.
        self._epoch = self._read_at_epoch = 0

    def invalidate(self) -> None:
        """A client changed: the next request that needs the origins reads them again."""
        self._epoch += 1

    @property
    def stale(self) -> bool:
        return self._read_at_epoch != self._epoch or self._clock() >= self._fresh_until

    def policy(self, origin: str) -> Cors | None:
        """What ``origin``'s answers may carry, or None when no client's pages come from it."""
        return self._policies.get(origin)

    def refresh(self) -> None:
        """Read the origins again if the snapshot is stale (blocking: in a thread). One reader
        at a time; on failure the last snapshot stays and the error is raised."""
        with self._lock:
            if not self.stale:
                return
            epoch = self._epoch
            policies: dict[str, Cors] = {}
            for origin, cookie in self._store.browser_origins():
                if cookie or origin not in policies:
                    policies[origin] = Cors.CREDENTIALS if cookie else Cors.PLAIN
            self._policies = policies
            self._read_at_epoch = epoch
            self._fresh_until = self._clock() + max(self._ttl, 1)
