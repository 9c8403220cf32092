"""The running authority: settings, storage, keys and grants wired together once per process."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from authority import mail, throttle
from authority.accounts import Accounts, Letters
from authority.client_auth import CachedClients, ClientAuthenticator
from authority.grants import GrantContext, GrantRegistry
from authority.hashing import Passwords, SecretDigest
from authority.introspection import Introspector
from authority.keys import DirectoryKeyStore, KeyRing, lifecycle, private_keys
from authority.keys.lifecycle import Timings
from authority.password_policy import PasswordPolicy
from authority.revocation import Revoker
from authority.sessions import SessionService
from authority.settings import Settings
from authority.storage.sql import SqlStorage
from authority.tokens import IdTokenMinter, Minter
from authority.validation import PresentedTokens

log = logging.getLogger("authority")


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
        self.private_keys = private_keys(settings)
        self.timings = Timings.from_settings(settings)
        hash_key = settings.hash_key or DirectoryKeyStore(settings.keys_dir).hash_key(False)
        self.digest = SecretDigest(hash_key)
        self.ring = KeyRing.load(storage, self.private_keys)
        self.ring.active(settings.access_token_alg)  # fail at start, not at the first request
        self.passwords = Passwords(
            settings.argon2_time_cost, settings.argon2_memory_cost, settings.argon2_parallelism
        )
        self.minter = Minter(
            settings.issuer, settings.access_token_ttl, settings.access_token_alg, self._ring
        )
        self.clients = ClientAuthenticator(
            CachedClients(storage, settings.client_cache_ttl), self.digest
        )
        self.throttle = throttle.build(settings, storage)
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
                    settings.issuer, settings.access_token_ttl, settings.id_token_alg, self._ring
                ),
                require_verified_email=settings.require_verified_email,
            )
        )

        presented = PresentedTokens(settings.issuer, self._ring, storage, self.digest)
        self.introspector = Introspector(presented)
        self.revoker = Revoker(presented)
        self.sessions = SessionService(presented, storage)
        letters = Letters.from_settings(settings)
        self.mailer = mail.from_url(settings.email_url, helo=letters.domain)
        self.accounts = Accounts(
            registration_open=settings.registration == "open",
            store=storage,
            passwords=self.passwords,
            digest=self.digest,
            policy=PasswordPolicy(settings.password_min_length),
            logins=self.throttle,
            mails=throttle.build(settings, storage, namespace="mail:"),
            mailer=self.mailer,
            letters=letters,
        )
        # Thread limiters of grants that cap their own concurrency; filled by the HTTP edge.
        self.limiters: dict[str, Any] = {}

    def _ring(self) -> KeyRing:
        return self.ring

    def now(self) -> int:
        return int(self.clock())

    def reload_keys(self) -> None:
        ring = KeyRing.load(self.storage, self.private_keys, previous=self.ring)
        if ring.etag != self.ring.etag:
            log.info("published keys now: %s", ", ".join(k.kid for k in ring.keys))
        self.ring = ring

    def maintain_keys(self) -> list[lifecycle.RotationReport]:
        """The periodic key task: scheduled rotation, pruning, then reload.

        Every replica runs it every ``key_reload_seconds``; the conditional updates in the
        lifecycle make sure one rotation happens however many replicas find it due.
        """
        now = self.now()
        reports = []
        for alg in self.ring.algorithms():
            report = lifecycle.rotate_if_due(
                self.storage, self.private_keys, alg, now, self.timings
            )
            if report is not None:
                log.info(
                    "scheduled rotation: %s now signs %s; %s retired",
                    report.activated,
                    alg,
                    report.retired,
                )
                reports.append(report)
        removed = lifecycle.prune(self.storage, self.private_keys, now)
        if removed:
            log.info("removed expired signing keys: %s", ", ".join(removed))
        purged = self.storage.purge(now, max_batches=10)
        self.storage.purge_failures(now - self.settings.login_lockout, now)
        self.storage.purge_links(now)
        if any(purged.values()):
            log.info(
                "purged %(sessions)d sessions, %(denied_access_tokens)d deny-list entries", purged
            )
        self.reload_keys()
        return reports

    def close(self) -> None:
        self.storage.close()
