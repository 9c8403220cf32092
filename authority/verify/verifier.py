"""The resource-server verifier: JWKS fetched once, cached by its HTTP headers, tokens
checked offline. No network call per token.

Standard library HTTP only, so a resource server pulls in nothing of the authority's
server stack.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import math
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry

from authority.verify.jwt import (
    InsufficientScope,
    TrustedKey,
    audiences,
    check,
    unverified_kid,
)

log = logging.getLogger("authority.verify")
# What a fetch may raise: network trouble, a broken HTTP exchange, a hostile body.
FETCH_ERRORS = (OSError, ValueError, http.client.HTTPException, RecursionError)
DEFAULT_ALGORITHMS = ("ES256", "RS256", "EdDSA")
_KTY = {"ES256": ("EC", "P-256"), "RS256": ("RSA", None), "EdDSA": ("OKP", "Ed25519")}
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)


class VerifierUnavailable(Exception):
    """No token can be checked right now, through no fault of the token: the issuer's
    metadata or keys cannot be fetched (``retry_after`` seconds until the next attempt), or
    they contradict this verifier's configuration (``retry_after`` is None). Not a
    VerificationError: adapters answer 503 ``temporarily_unavailable``, never 401."""

    error = "temporarily_unavailable"
    status_code = 503

    def __init__(self, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.retry_after = retry_after

    def again(self, retry_after: float) -> VerifierUnavailable:
        """The same failure, raised anew while it is remembered."""
        repeat = type(self).__new__(type(self), *self.args)
        repeat.__dict__.update(self.__dict__)
        if self.retry_after is not None:
            repeat.retry_after = max(1, math.ceil(retry_after))
        return repeat


class IssuerMismatch(VerifierUnavailable):
    """The issuer's metadata was fetched but names another issuer (RFC 8414 §3.3): the
    verifier is configured with the wrong issuer, or the authority publishes the wrong one."""

    def __init__(self, configured: str, published: object) -> None:
        super().__init__("the API's issuer setting does not match the authority's metadata")
        self.configured = configured
        self.published = published


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: Mapping[str, str]


Fetch = Callable[[str, Mapping[str, str]], Response]


def urllib_fetch(url: str, headers: Mapping[str, str], timeout: float = 5.0) -> Response:
    """GET with the standard library; HTTP errors come back as responses, not exceptions."""
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"refusing to fetch {url!r}: only http(s) URLs")
    request = urllib.request.Request(url, headers={"Accept": "application/json", **headers})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
            return Response(reply.status, reply.read(1 << 20), dict(reply.headers.items()))
    except urllib.error.HTTPError as error:
        return Response(error.code, b"", dict(error.headers.items()))


@dataclass(frozen=True)
class Claims:
    """What a verified access token says (RFC 9068 §2.2)."""

    sub: str
    client_id: str
    scopes: frozenset[str]
    audience: tuple[str, ...]
    issuer: str
    expires_at: int
    issued_at: int
    jti: str
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_dict(cls, claims: Mapping[str, Any]) -> Claims:
        return cls(
            sub=claims["sub"],
            client_id=claims["client_id"],
            scopes=frozenset(str(claims.get("scope", "")).split()),
            audience=tuple(audiences(dict(claims))),
            issuer=claims["iss"],
            expires_at=int(claims["exp"]),
            issued_at=int(claims["iat"]),
            jti=claims["jti"],
            raw=claims,
        )


def _trusted(jwk: Any, algorithms: tuple[str, ...]) -> TrustedKey | None:
    """A key from the JWKS, if it is a signing key of an algorithm we accept. The key is
    pinned to the algorithm its own ``alg`` and type name, never to a token's header."""
    if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
        return None
    alg = jwk.get("alg")
    if alg not in algorithms or jwk.get("use", "sig") != "sig":
        return None
    kty, crv = _KTY[alg]
    if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
        return None
    if any(name in jwk for name in ("d", "p", "q", "dp", "dq", "qi", "k")):
        return None  # a private or symmetric key has no place in a JWKS
    try:
        return TrustedKey(jwk["kid"], alg, JWKRegistry.import_key(jwk))
    except (JoseError, ValueError, TypeError):
        return None


class KeySetCache:
    """The JWKS, cached for the server's ``max-age``, revalidated with ``ETag``.

    An unknown kid triggers at most one refetch per ``min_refetch_interval``, so a flood of
    forged kids costs one request to the authority, not one per token. When the authority
    cannot be reached, the cached keys stay in use and a retry waits for the same interval.
    """

    def __init__(
        self,
        jwks_uri: str,
        algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS,
        fetch: Fetch = urllib_fetch,
        clock: Callable[[], float] = time.monotonic,
        min_refetch_interval: float = 10.0,
        default_max_age: float = 300.0,
    ) -> None:
        self.jwks_uri = jwks_uri
        self.algorithms = algorithms
        self._fetch = fetch
        self._clock = clock
        self.min_refetch_interval = min_refetch_interval
        self.default_max_age = default_max_age
        self._keys: dict[str, TrustedKey] = {}
        self._etag: str | None = None
        self._fresh_until = float("-inf")
        self._last_attempt = float("-inf")
        self._loaded = False  # a key set was read at least once
        self._lock = threading.Lock()
        self.fetches = 0

    def needs_fetch(self, kid: str | None) -> bool:
        now = self._clock()
        if now >= self._fresh_until and now - self._last_attempt >= self.min_refetch_interval:
            return True
        unknown = kid is not None and kid not in self._keys
        return unknown and now - self._last_attempt >= self.min_refetch_interval

    def get(self, kid: str) -> TrustedKey | None:
        if self.needs_fetch(kid):
            with self._lock:
                if self.needs_fetch(kid):  # another thread may have just fetched
                    self._refresh()
        if not self._loaded:  # never had a key set: the authority is down, not the token bad
            wait = self._last_attempt + self.min_refetch_interval - self._clock()
            raise VerifierUnavailable(
                "the authority's keys cannot be fetched", max(1, math.ceil(wait))
            )
        return self._keys.get(kid)

    def _refresh(self) -> None:
        self._last_attempt = now = self._clock()
        headers = {"If-None-Match": self._etag} if self._etag else {}
        try:
            response = self._fetch(self.jwks_uri, headers)
        except FETCH_ERRORS as exc:
            log.warning("JWKS fetch from %s failed (%s); keeping cached keys", self.jwks_uri, exc)
            return
        self.fetches += 1
        if response.status == 304 and self._keys:
            self._fresh_until = now + self._max_age(response.headers)
            return
        if response.status != 200:
            log.warning(
                "JWKS fetch from %s answered %s; keeping cached keys",
                self.jwks_uri,
                response.status,
            )
            return
        try:
            document = json.loads(response.body)
            found = [_trusted(k, self.algorithms) for k in document["keys"]]
        except (ValueError, KeyError, TypeError, RecursionError):
            log.warning("JWKS from %s is not a key set; keeping cached keys", self.jwks_uri)
            return
        self._keys = {k.kid: k for k in found if k is not None}
        self._loaded = True
        self._etag = _header(response.headers, "etag")
        self._fresh_until = now + self._max_age(response.headers)

    def _max_age(self, headers: Mapping[str, str]) -> float:
        match = _MAX_AGE.search(_header(headers, "cache-control") or "")
        # no-store or no max-age: the default; never below the refetch interval.
        age = float(match.group(1)) if match else self.default_max_age
        return max(age, self.min_refetch_interval)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


class Verifier:
    """Verify access tokens from one issuer for one audience, offline.

    ``jwks_uri`` is discovered from the issuer's RFC 8414 metadata unless given. Safe to
    share between threads and asyncio tasks.
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
        leeway: float = 60.0,
        jwks_uri: str | None = None,
        fetch: Fetch = urllib_fetch,
        clock: Callable[[], float] = time.time,
        min_refetch_interval: float = 10.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.algorithms = tuple(a for a in algorithms if a in _KTY)
        if not self.algorithms:
            raise ValueError(f"algorithms must name some of {', '.join(_KTY)}")
        self.leeway = leeway
        self._fetch = fetch
        self._clock = clock
        self._min_refetch_interval = min_refetch_interval
        self._jwks_uri = jwks_uri
        self._cache: KeySetCache | None = None
        self._lock = threading.Lock()
        self._discovery_failed_at = float("-inf")
        self._discovery_failure: VerifierUnavailable | None = None
        self._reported_issuer: tuple[object] | None = None  # the mismatch last logged

    @property
    def keys(self) -> KeySetCache:
        if self._cache is None:
            with self._lock:
                if self._cache is None:
                    self._cache = KeySetCache(
                        self._jwks_uri or self._discover(),
                        self.algorithms,
                        self._fetch,
                        min_refetch_interval=self._min_refetch_interval,
                    )
        return self._cache

    def _discover(self) -> str:
        """jwks_uri from the RFC 8414 metadata. A failure is remembered for the refetch
        interval, so an authority that is down costs one request per interval, not per token."""
        now = self._clock()
        failure = self._discovery_failure
        if failure is not None and now - self._discovery_failed_at < self._min_refetch_interval:
            raise failure.again(self._discovery_failed_at + self._min_refetch_interval - now)
        try:
            jwks_uri = self._fetch_jwks_uri()
        except VerifierUnavailable as error:
            self._discovery_failed_at, self._discovery_failure = now, error
            raise
        self._discovery_failure = None
        return jwks_uri

    def _fetch_jwks_uri(self) -> str:
        url = f"{self.issuer}/.well-known/oauth-authorization-server"
        down = VerifierUnavailable(
            "the authority's metadata cannot be fetched", math.ceil(self._min_refetch_interval)
        )
        try:
            response = self._fetch(url, {})
            metadata = json.loads(response.body) if response.status == 200 else None
        except FETCH_ERRORS as exc:
            log.warning("the issuer's metadata at %s cannot be fetched (%s)", url, exc)
            raise down from None
        if not isinstance(metadata, dict):
            log.warning("the issuer's metadata at %s: %s, no JSON object", url, response.status)
            raise down
        # RFC 8414 §3.3: the metadata must name exactly the issuer we asked.
        if metadata.get("issuer") != self.issuer:
            mismatch = IssuerMismatch(self.issuer, metadata.get("issuer"))
            if self._reported_issuer != (mismatch.published,):  # once, not per interval
                self._reported_issuer = (mismatch.published,)
                log.error(
                    "the configured issuer is %r but %s publishes issuer %r: no token can "
                    "be checked (503) until they agree; set the issuer the authority "
                    "publishes (its AUTHORITY_ISSUER)",
                    self.issuer,
                    url,
                    mismatch.published,
                )
            raise mismatch
        jwks_uri = metadata.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            log.error("the issuer's metadata at %s names no jwks_uri", url)
            raise VerifierUnavailable("the authority's metadata has no jwks_uri")
        return jwks_uri

    def verify(self, token: str, scopes: Iterable[str] = ()) -> Claims:
        """Check the token and the required scopes: InvalidToken or InsufficientScope for the
        token, VerifierUnavailable when the issuer's metadata or keys cannot be had."""
        claims = check(token, self.keys.get, self.issuer, self._clock(), self.leeway, self.audience)
        verified = Claims.from_dict(claims)
        missing = tuple(s for s in scopes if s not in verified.scopes)
        if missing:
            raise InsufficientScope(missing)
        return verified

    async def verify_async(self, token: str, scopes: Iterable[str] = ()) -> Claims:
        """As ``verify``; only a JWKS fetch, when one is due, leaves the event loop."""
        if self._cache is None or self._cache.needs_fetch(unverified_kid(token)):
            return await asyncio.to_thread(self.verify, token, tuple(scopes))
        return self.verify(token, scopes)
