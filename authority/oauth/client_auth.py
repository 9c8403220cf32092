"""Client authentication at the token endpoint (RFC 6749 §2.3.1): secret_basic and
secret_post; a public client (RFC 6749 §2.1, no secret) names itself with ``client_id``
alone (``none``)."""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from authority.credentials.hashing import SecretDigest
from authority.errors import BasicInvalidClient, InvalidClientError, InvalidRequestError
from authority.oauth.params import Params
from authority.storage import Client, ClientStore

BASIC, POST, NONE = "client_secret_basic", "client_secret_post", "none"
METHODS = (BASIC, POST)  # what a confidential client uses
PUBLIC_METHODS = (*METHODS, NONE)  # at the endpoints a public client may call
log = logging.getLogger("authority.audit")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Credentials:
    client_id: str
    secret: str
    method: str


def _basic(header: str) -> Credentials:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise BasicInvalidClient("use HTTP Basic or client_secret_post to authenticate")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except ValueError:  # bad base64, a non-ASCII header value, or bytes that are not UTF-8
        raise BasicInvalidClient("malformed Basic credentials") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id:
        raise BasicInvalidClient("malformed Basic credentials")
    # RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
    try:
        found = Credentials(
            unquote(client_id.replace("+", " "), errors="strict"),
            unquote(secret.replace("+", " "), errors="strict"),
            BASIC,
        )
    except UnicodeDecodeError:
        raise BasicInvalidClient("malformed Basic credentials") from None
    # As in form bodies: no control characters (PostgreSQL refuses NUL in text outright).
    if _CONTROL.search(found.client_id) or _CONTROL.search(found.secret):
        raise BasicInvalidClient("malformed Basic credentials")
    return found


def credentials(authorization: str | None, params: Params) -> Credentials:
    """Which credentials the request presents; more than one method is invalid_request."""
    body_secret = params.one("client_secret")
    body_id = params.one("client_id")
    if authorization:
        if body_secret is not None:
            raise InvalidRequestError("use one client authentication method, not two")
        found = _basic(authorization)
        if body_id is not None and body_id != found.client_id:
            raise InvalidRequestError("client_id does not match the Basic credentials")
        return found
    if body_id is None:
        raise InvalidClientError("client authentication is required")
    if body_secret is None:
        return Credentials(body_id, "", NONE)
    return Credentials(body_id, body_secret, POST)


class CachedClients:
    """Clients by id, cached for ``ttl`` seconds at most: a change is seen once ``forget``
    is told of it (as every server is, within a second), and within ``ttl`` anyway."""

    MAX_ENTRIES = 10_000

    def __init__(
        self, store: ClientStore, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, Client]] = {}
        self._epoch = 0  # moved by each ``forget``

    def forget(self, client_id: str | None) -> None:
        """Drop the cached copy of a changed client (None: of every client)."""
        self._epoch += 1
        if client_id is None:
            self._cache.clear()
        else:
            self._cache.pop(client_id, None)

    def cached(self, client_id: str) -> Client | None:
        """The client if a fresh copy is in memory; storage is not asked."""
        hit = self._cache.get(client_id)
        return hit[1] if hit is not None and hit[0] > self._clock() else None

    def get_client(self, client_id: str) -> Client | None:
        """As ``get``: a ClientStore itself, for whoever may see a client ``ttl`` late."""
        return self.get(client_id)

    def get(self, client_id: str) -> Client | None:
        hit = self.cached(client_id)
        if hit is not None:
            return hit
        now, epoch = self._clock(), self._epoch
        client = self._store.get_client(client_id)
        if client is None:
            self._cache.pop(client_id, None)
            return None
        if self._ttl > 0:
            if len(self._cache) >= self.MAX_ENTRIES:
                self._cache.clear()
            self._cache[client_id] = (now + self._ttl, client)
            if epoch != self._epoch:  # a change was told meanwhile: this copy may predate it
                self._cache.pop(client_id, None)
        return client


def _may_exist(client_id: str) -> bool:
    return len(client_id) <= 64


class ClientAuthenticator:
    def __init__(
        self, clients: CachedClients, digest: SecretDigest, clock: Callable[[], float] = time.time
    ) -> None:
        self._clients = clients
        self._digest = digest
        self._clock = clock  # the authority's: when a rotated-out secret stops working

    def authenticate_cached(self, creds: Credentials) -> Client | None:
        """``authenticate`` when the client is cached, with no storage call; None when it is
        not (then ``authenticate`` must read it, off the event loop)."""
        if not _may_exist(creds.client_id):
            return self._check(creds, None)
        client = self._clients.cached(creds.client_id)
        return None if client is None else self._check(creds, client)

    def authenticate(self, creds: Credentials) -> Client:
        client = self._clients.get(creds.client_id) if _may_exist(creds.client_id) else None
        return self._check(creds, client)

    def _check(self, creds: Credentials, client: Client | None) -> Client:
        if creds.method == NONE and client is not None and not client.public:
            raise InvalidClientError("client authentication is required")
        if creds.method == NONE or (client is not None and client.public):
            # A public client has no secret, and a confidential one must prove its own: each
            # is refused the other's way, in the same words as a wrong secret.
            ok = client is not None and client.public and creds.method == NONE
        else:
            # The secret is hashed and compared even for an unknown client, and against the
            # secret a rotation replaced even when there is none: the same cost every time.
            ok = self._digest.matches(
                creds.secret,
                client.secret_hash if client else None,
                self._previous_secret(client),
            )
        if client is None or not ok or client.disabled:
            log.warning(
                "client authentication failed client_id=%r method=%s reason=%s",
                creds.client_id[:64],
                creds.method,
                "unknown" if client is None else ("disabled" if ok else "bad secret"),
            )
            error = BasicInvalidClient if creds.method == BASIC else InvalidClientError
            raise error("client authentication failed")
        return client

    def _previous_secret(self, client: Client | None) -> str | None:
        """The hash of the secret a rotation replaced, while its grace period lasts."""
        if client is None or not client.previous_secret_hash:
            return None
        expires_at = client.previous_secret_expires_at
        return client.previous_secret_hash if expires_at and self._clock() < expires_at else None
