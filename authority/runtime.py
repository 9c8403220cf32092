"""The running authority: settings, storage, keys and grants wired together once per process.

Its state that changes while it runs is named here: the loaded keys (``LoadedKeys``, swapped
only by ``reload``), the cached clients and browser origins (dropped by ``apply_change`` when
another process changes them), and the two periodic jobs that change storage, key maintenance
(``maintain_keys``) and housekeeping (``housekeep``). The thread limiters are made once, here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from authority import mail
from authority.accounts import Accounts, Letters
from authority.accounts.browser import BrowserSignIns
from authority.accounts.consents import ConsentService
from authority.accounts.sessions import SessionService
from authority.credentials import throttle
from authority.credentials.hashing import Passwords, SecretDigest
from authority.credentials.login import PasswordLogin
from authority.credentials.password_policy import PasswordPolicy
from authority.errors import TemporarilyUnavailable
from authority.events import ActorKind, Events, EventType
from authority.keys import (
    DirectoryKeyStore,
    KeyRing,
    KeyStoreError,
    PrivateKeys,
    lifecycle,
    private_keys,
)
from authority.keys.lifecycle import Timings
from authority.oauth import claims_hook, scopes
from authority.oauth.admin_tokens import AdminTokens
from authority.oauth.authorize import Authorizer
from authority.oauth.client_auth import CachedClients, ClientAuthenticator
from authority.oauth.codes import CodeSealer
from authority.oauth.grants import GrantContext, GrantRegistry
from authority.oauth.introspection import Introspector
from authority.oauth.logout import Logouts
from authority.oauth.origins import BrowserOrigins
from authority.oauth.presented import PresentedTokens
from authority.oauth.revocation import Revoker
from authority.oauth.tokens import IdTokenMinter, Minter
from authority.observe.audit import AuditQueue, hears, keeps
from authority.settings import DAY, Settings
from authority.storage import Change, ChangeKind
from authority.storage.changes import ChangeWatcher
from authority.storage.sql import SqlStorage

if TYPE_CHECKING:
    from authority.observe.metrics import Metrics

log = logging.getLogger("authority")
T = TypeVar("T")
# Threads for introspection's lookups at once. More only contend with the event loop for the
# GIL: on one core, 32 connections ran at about 60 % of the throughput with the shared
# limiter (up to 40 threads) than with 8, which still overlap the database's round trips.
INTROSPECTION_THREADS = 8


class LoadedKeys:
    """The key ring this process signs and checks with. It changes only by ``reload``, which
    a change made elsewhere and the key maintenance job call (the latter retries while it
    fails)."""

    def __init__(
        self,
        storage: SqlStorage,
        private: PrivateKeys,
        clock: Callable[[], float],
        stale_after: float,
    ) -> None:
        self._storage = storage
        self._private = private
        self._clock = clock
        self._stale_after = stale_after
        self._ring = KeyRing.load(storage, private)
        self._loaded_at = clock()
        self._failing = False
        # One reload at a time: an older read never replaces a newer one.
        self._lock = threading.RLock()

    @property
    def published(self) -> KeyRing:
        """The keys last loaded, whatever became of the reloads since: the JWKS serves them,
        so verifiers keep their keys while the database is away."""
        return self._ring

    def current(self) -> KeyRing:
        """The loaded keys, for signing and for checking our own tokens.

        While reloads fail, a key revoked elsewhere cannot be seen: the loaded keys are used
        for ``Timings.stale_after`` after the last good reload, then refused (503) until a
        reload works again.
        """
        if self._failing and self._clock() - self._loaded_at > self._stale_after:
            raise TemporarilyUnavailable()
        return self._ring

    @property
    def failing(self) -> bool:
        """The last reload failed: the maintenance task retries it soon."""
        return self._failing

    def reload(self) -> None:
        """Swap in the keys storage publishes now (keys already parsed are reused)."""
        with self._lock:
            ring = KeyRing.load(self._storage, self._private, previous=self._ring)
            if ring.etag != self._ring.etag:
                log.info("published keys now: %s", ", ".join(k.kid for k in ring.keys))
            self._ring = ring
            self._loaded_at = self._clock()

    def try_reload(self) -> bool:
        """Reload; a failure is logged once, and again when reloads work again."""
        with self._lock:
            try:
                self.reload()
            except Exception as exc:
                if not self._failing:
                    log.error("key maintenance: key reload failed: %s", _reason(exc))
                self._failing = True
                return False
            if self._failing:
                log.warning("key maintenance: key reload works again")
            self._failing = False
            return True


class Authority:
    def __init__(
        self,
        settings: Settings,
        storage: SqlStorage,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.clock = clock
        # What happened, for whoever listens: the audit trail, the metrics, the log.
        self.events = Events()
        # Written off the request path by a thread the server starts (``AuditQueue.start``).
        self.audit: AuditQueue | None = None
        if settings.audit:
            self.audit = AuditQueue(storage, keeps(settings.audit_client_credentials))
            self.events.listen(self.audit, hears(settings.audit_client_credentials))
        self.private_keys = private_keys(settings)
        self.timings = Timings.from_settings(settings)
        hash_key = settings.hash_key or DirectoryKeyStore(settings.keys_dir).hash_key(False)
        self.digest = SecretDigest(hash_key)
        self.code_sealer = CodeSealer(self.digest)
        self.keys = LoadedKeys(storage, self.private_keys, clock, self.timings.stale_after)
        # Fail at start, not at the first request.
        self.keys.published.active(settings.access_token_alg)
        ring = self.keys.current
        self.passwords = Passwords(
            settings.argon2_time_cost, settings.argon2_memory_cost, settings.argon2_parallelism
        )
        self.minter = Minter(
            settings.issuer, settings.access_token_ttl, settings.access_token_alg, ring
        )
        self.cached_clients = cached_clients = CachedClients(storage, settings.client_cache_ttl)
        self.clients = ClientAuthenticator(cached_clients, self.digest, clock)
        counters = throttle.counter(settings, storage)
        self.throttle = throttle.build(settings, counters)
        self.public_scopes = scopes.published(settings.public_scopes)
        self.grants = GrantRegistry(
            GrantContext(
                issuer=settings.issuer,
                refresh_token_ttl=settings.refresh_token_ttl,
                session_max_age=settings.session_max_age,
                minter=self.minter,
                digest=self.digest,
                passwords=self.passwords,
                users=storage,
                sessions=storage,
                throttle=self.throttle,
                id_tokens=IdTokenMinter(
                    settings.issuer, settings.access_token_ttl, settings.id_token_alg, ring
                ),
                require_verified_email=settings.require_verified_email,
                refresh_reuse_window=settings.refresh_reuse_window,
                code_sealer=self.code_sealer,
                codes=storage,
                claims_hook=claims_hook.load(settings.claims_hook),
                events=self.events,
            )
        )
        presented = PresentedTokens(settings.issuer, ring, storage, self.digest)
        self.introspector = Introspector(presented, cached_clients)
        self.revoker = Revoker(presented, self.events)
        self.sessions = SessionService(presented, storage, storage, cached_clients, self.events)
        self.admin_tokens = AdminTokens(presented, storage)
        self.origins = BrowserOrigins(storage, settings.client_cache_ttl)
        self.browser = BrowserSignIns(
            storage, self.digest, settings.browser_session_max_age, events=self.events
        )
        self.authorizer = Authorizer(
            settings.issuer,
            cached_clients,
            self.code_sealer,
            storage,
            settings.authorization_code_ttl,
        )
        # The hosted login page signs in by the password grant's rules, with its throttle.
        self.password_login = PasswordLogin(
            storage, self.passwords, self.throttle, settings.require_verified_email, self.events
        )
        self.logouts = Logouts(presented, cached_clients)
        self.consents = ConsentService(storage, cached_clients)
        letters = Letters.from_settings(settings)
        self.mailer = mail.from_url(settings.email_url, helo=letters.domain)
        self.accounts = Accounts(
            registration_open=settings.registration == "open",
            store=storage,
            passwords=self.passwords,
            digest=self.digest,
            policy=PasswordPolicy(settings.password_min_length),
            logins=self.throttle,
            mails=throttle.Quota(
                counters,
                "mail:",
                settings.login_lockout,
                per_name=settings.login_max_failures,
                per_ip=settings.login_max_failures_per_ip,
            ),
            registrations=throttle.Quota(
                counters,
                "register:",
                throttle.REGISTRATION_WINDOW,
                per_ip=settings.registration_max_per_ip,
            ),
            mailer=self.mailer,
            letters=letters,
            events=self.events,
        )
        self.limiters = self._limiters()
        self.metrics = self._metrics() if settings.metrics else None

    def _metrics(self) -> Metrics:
        """Prometheus metrics (AUTHORITY_METRICS), fed by the events and by the HTTP edge."""
        # Imported here, so that prometheus-client is imported only where metrics are on, and
        # only once ``serve`` has named the workers' folder (it reads it at its import).
        from authority.observe.metrics import Metrics

        password = self.limiters.get("password")
        metrics = Metrics(
            pool_in_use=self.storage.connections_in_use,
            argon2_queue=partial(_queue_depth, password) if password else lambda: 0,
            keys=lambda: self.keys.published,
            timings=self.timings,
            clock=self.clock,
        )
        self.events.listen(metrics.hear)
        return metrics

    def _limiters(self) -> Mapping[str, anyio.CapacityLimiter]:
        """A thread limiter for each kind of work that caps its own concurrency, by name: the
        grants that say so, and introspection. Work capped this way queues on the event
        loop, under its deadline, and never takes the threads the rest needs."""
        caps = {"introspection": INTROSPECTION_THREADS}
        for grant_type in self.grants.grant_types:
            grant = self.grants.get(grant_type)
            if grant.blocking and grant.max_threads:
                caps[grant_type] = grant.max_threads
        return MappingProxyType({name: anyio.CapacityLimiter(n) for name, n in caps.items()})

    def now(self) -> int:
        return int(self.clock())

    # -- changes other processes make (every server process watches them) ----------------

    def watch_changes(self) -> ChangeWatcher:
        """The watcher that applies changes made elsewhere within a second; while it cannot
        watch, the periodic reload and the client cache's time to live bound the delay."""
        s = self.settings
        bound = f"within {s.key_reload_seconds} s (keys) and {s.client_cache_ttl} s (clients)"
        return self.storage.change_watcher(self.apply_change, self.resync, bound)

    def apply_change(self, change: Change) -> None:
        """Keys are read again; a changed client's cached copy and the browser origins are
        dropped, and a changed user's cached browser sign-ins."""
        if change.kind is ChangeKind.KEY:
            self.keys.try_reload()
        elif change.kind is ChangeKind.CLIENT:
            self.cached_clients.forget(change.ident)
            self.origins.invalidate()
        elif change.kind is ChangeKind.USER:
            self.browser.forget_user(change.ident)

    def resync(self) -> None:
        """Changes may have been missed: drop what is cached, read the keys again."""
        self.cached_clients.forget(None)
        self.origins.invalidate()
        self.browser.forget_user(None)
        self.keys.try_reload()

    # -- the periodic jobs (every ``key_reload_seconds``, on every replica) -----------------

    def maintain_keys(self) -> list[lifecycle.RotationReport]:
        """Key maintenance: scheduled rotations, pruning, the temporary file sweep, then the
        reload.

        The conditional updates in the lifecycle make sure one rotation happens however many
        replicas find it due. Each step runs on its own: one that fails is logged in one line
        and the others still run; the reload always runs, last, so a rotation made elsewhere
        is applied.
        """
        now = self.now()
        reports = []
        ring = self.keys.published
        for alg in sorted({*ring.algorithms(), *ring.promotions}):
            report = _attempt(
                "key maintenance", f"scheduled {alg} key rotation", self._rotate_if_due, alg, now
            )
            if report is not None:
                reports.append(report)
        _attempt("key maintenance", "key pruning", self._prune_keys, now)
        _attempt("key maintenance", "temporary key file sweep", self._sweep)
        self.keys.try_reload()
        return reports

    def housekeep(self) -> None:
        """Housekeeping: purge what has expired (sessions and their deny-list entries, login
        failures, links, registrations never verified, audit events past their retention).
        Each step runs on its own."""
        now = self.now()
        storage = self.storage
        steps: list[tuple[str, Callable[[], object]]] = [
            ("session purge", partial(self._purge_sessions, now)),
            (
                "login failure purge",
                partial(storage.purge_failures, now - throttle.LONGEST_WINDOW, now),
            ),
            ("link purge", partial(storage.purge_links, now)),
            ("sign-in purge", partial(storage.purge_sign_ins, now)),
            ("unverified account purge", partial(self._purge_unconfirmed, now)),
            ("audit purge", partial(self._purge_audit, now)),
        ]
        for name, step in steps:
            _attempt("housekeeping", name, step)

    def _rotate_if_due(self, alg: str, now: int) -> lifecycle.RotationReport | None:
        report = lifecycle.rotate_if_due(self.storage, self.private_keys, alg, now, self.timings)
        if report is not None:
            log.info(
                "scheduled rotation: %s now signs %s; %s retired",
                report.activated,
                alg,
                report.retired,
            )
            self.events.record(
                EventType.KEY_ROTATED,
                ActorKind.SYSTEM,
                None,
                report.activated,
                alg=alg,
                how="scheduled",
                retired=report.retired,
                next=report.created_next,
            )
        return report

    def _prune_keys(self, now: int) -> None:
        removed = lifecycle.prune(self.storage, self.private_keys, now)
        if removed:
            log.info("removed expired signing keys: %s", ", ".join(removed))
        for kid in removed:
            self.events.record(EventType.KEY_REMOVED, ActorKind.SYSTEM, None, kid)

    def _sweep(self) -> None:
        for found in lifecycle.sweep(self.private_keys):
            log.warning("key maintenance: %s", found)

    def _purge_sessions(self, now: int) -> None:
        purged = self.storage.purge(now, max_batches=10)
        if any(purged.values()):
            log.info(
                "purged %(sessions)d sessions, %(denied_access_tokens)d deny-list entries", purged
            )

    def _purge_unconfirmed(self, now: int) -> None:
        ttl = self.settings.unverified_account_ttl
        if not ttl:
            return
        abandoned = self.storage.purge_unconfirmed(now - ttl, max_batches=10)
        if abandoned:
            log.info("purged %d registrations never verified nor signed in", abandoned)

    def _purge_audit(self, now: int) -> None:
        days = self.settings.audit_retention_days
        if not days:
            return
        purged = self.storage.purge_audit_events(now - days * DAY, max_batches=10)
        if purged:
            log.info("purged %d audit events older than %d days", purged, days)

    def close(self) -> None:
        """Write what the audit trail still holds, then let the database go."""
        if self.audit is not None:
            self.audit.close()
        self.storage.close()


def check_start(settings: Settings) -> None:
    """Raise now, as one line (ConfigError), what ``Authority`` would refuse at its start
    that needs neither storage nor keys: the mail URL, the claims hook, the public scopes.
    ``serve`` calls it before its workers start, where a failure would be a traceback."""
    mail.from_url(settings.email_url)
    claims_hook.load(settings.claims_hook)
    scopes.published(settings.public_scopes)


def _queue_depth(limiter: anyio.CapacityLimiter) -> int:
    """The work a limiter holds: running, and waiting for a place."""
    return int(limiter.borrowed_tokens) + limiter.statistics().tasks_waiting


def _attempt(job: str, name: str, step: Callable[..., T], *args: Any) -> T | None:
    """Run one step of a periodic job; a failure is logged in one line and the job goes on."""
    try:
        return step(*args)
    except Exception as exc:
        log.error("%s: %s failed: %s", job, name, _reason(exc))
        return None


def _reason(exc: Exception) -> str:
    """Why a step failed, in one line and without secrets: a database error's text carries
    the statement and its parameters (token hashes, sealed private keys), so only its type
    is named; a file error names its cause and path; a key-store error is an operator line."""
    if isinstance(exc, KeyStoreError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{type(exc).__name__}: {exc.strerror}{where}"
    return type(exc).__name__
