"""The signing-key lifecycle: next -> active -> retired -> removed, with derived timings.

A key is published (state ``next``) for at least one JWKS cache lifetime plus the replicas'
reload bound before it signs, so no verifier meets an unknown ``kid``; a retired key stays
published until every token it signed has expired. Every step is one conditional database
transaction, so replicas that rotate at once produce exactly one rotation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from authority.keys import algorithms
from authority.keys.store import PrivateKeys
from authority.settings import Settings
from authority.storage import KeyState, KeyStore, SigningKeyInfo

DAY = 86400
log = logging.getLogger("authority.keys")


@dataclass(frozen=True)
class Timings:
    jwks_max_age: int
    access_token_ttl: int
    reload_seconds: int
    leeway: int
    rotation_days: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> Timings:
        return cls(
            jwks_max_age=settings.jwks_max_age,
            access_token_ttl=settings.access_token_ttl,
            reload_seconds=settings.key_reload_seconds,
            leeway=settings.clock_leeway,
            rotation_days=settings.key_rotation_days,
        )

    @property
    def publish_lead(self) -> int:
        """How long a next key must be published before it may sign.

        A replica sees the new key within a second when told, within ``reload_seconds`` when
        its change notifications are down; a verifier that fetched the JWKS just before keeps
        it ``jwks_max_age``; clocks may differ by ``leeway``.
        """
        return self.jwks_max_age + self.reload_seconds + self.leeway

    @property
    def stale_after(self) -> int:
        """How long a replica whose key reloads fail keeps using the keys it loaded last
        (then it stops signing and verifying until a reload works): two reload periods, so
        one failed reload, retried within a second, changes nothing."""
        return 2 * self.reload_seconds

    def removable_at(self, retired_at: int) -> int:
        """When the last token a key signed has expired: a replica may sign with it for up
        to ``stale_after`` after it retired, and each token lives ``access_token_ttl``."""
        return retired_at + self.stale_after + self.access_token_ttl + self.leeway


@dataclass
class RotationReport:
    alg: str
    activated: str | None = None
    retired: str | None = None
    revoked: str | None = None
    created_next: str | None = None
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class RotationRefused(Exception):
    """A rotation would sign with a key verifiers may not know yet."""


class NotPublishedLongEnough(RotationRefused):
    """The next key ``kid`` may sign only from ``ready_at``."""

    def __init__(self, message: str, kid: str, ready_at: int) -> None:
        super().__init__(message)
        self.kid = kid
        self.ready_at = ready_at


@dataclass(frozen=True)
class Scheduled:
    """A promotion scheduled for the first safe moment, which key maintenance performs."""

    alg: str
    kid: str
    promote_at: int


def _new_key(private: PrivateKeys, alg: str, state: KeyState, now: int) -> SigningKeyInfo:
    """Generate a key and keep its private half first: a crash before the metadata commit
    leaves an unpublished orphan (removed at the next start), never a published key without
    its private half."""
    key = algorithms.generate(alg)
    kid = algorithms.public_jwk(alg, key)["kid"]
    sealed = private.seal(kid, key)
    return SigningKeyInfo(
        kid=kid,
        alg=alg,
        state=state,
        created_at=now,
        activated_at=now if state == KeyState.ACTIVE else None,
        sealed=sealed,
    )


def _by_state(keys: list[SigningKeyInfo], alg: str, state: KeyState) -> SigningKeyInfo | None:
    found = [k for k in keys if k.alg == alg and k.state == state]
    return found[-1] if found else None


def initialize(metadata: KeyStore, private: PrivateKeys, alg: str, now: int) -> list[str]:
    """A fresh install (or a new algorithm) gets an active key and a published next key."""
    created: list[str] = []
    keys = metadata.list_signing_keys()
    if (
        _by_state(keys, alg, KeyState.ACTIVE) is None
        and _by_state(keys, alg, KeyState.NEXT) is None
    ):
        # Nothing was ever published for this algorithm, so no verifier holds a token
        # it could fail to verify: the first key may sign at once.
        info = _new_key(private, alg, KeyState.ACTIVE, now)
        metadata.add_signing_key(info)
        created.append(f"{alg} signing key {info.kid}")
    if _by_state(metadata.list_signing_keys(), alg, KeyState.NEXT) is None:
        info = _new_key(private, alg, KeyState.NEXT, now)
        metadata.add_signing_key(info)
        created.append(f"{alg} next key {info.kid}")
    return created


def add_next(metadata: KeyStore, private: PrivateKeys, alg: str, now: int) -> SigningKeyInfo:
    """``authority keys generate``: publish a next key for ``alg`` (one at a time)."""
    if _by_state(metadata.list_signing_keys(), alg, KeyState.NEXT) is not None:
        raise RotationRefused(f"a next {alg} key is already published")
    info = _new_key(private, alg, KeyState.NEXT, now)
    metadata.add_signing_key(info)
    return info


def rotate(
    metadata: KeyStore,
    private: PrivateKeys,
    alg: str,
    now: int,
    timings: Timings,
    force: bool = False,
    revoke_current: bool = False,
) -> RotationReport:
    """Promote next -> active, retire (or revoke) the active key, publish a new next key."""
    keys = metadata.list_signing_keys()
    current, upcoming = _by_state(keys, alg, KeyState.ACTIVE), _by_state(keys, alg, KeyState.NEXT)
    report = RotationReport(alg)
    if upcoming is None:
        raise RotationRefused(
            f"no next {alg} key is published; run 'authority keys generate --alg {alg}' and "
            f"rotate after {timings.publish_lead} s"
        )
    ready_at = upcoming.created_at + timings.publish_lead
    if now < ready_at and not force:
        raise NotPublishedLongEnough(
            f"next {alg} key {upcoming.kid} has been published for {now - upcoming.created_at} s; "
            f"verifiers may cache the JWKS for up to {timings.publish_lead} s, so it may sign "
            f"from {ready_at - now} s from now (use --force to override, or --at-earliest to "
            "have the servers promote it then)",
            upcoming.kid,
            ready_at,
        )
    if now < ready_at:
        report.warnings.append(
            f"{upcoming.kid} signs before every verifier can know it: a verifier whose cached "
            f"JWKS was fetched over {now - upcoming.created_at} s ago rejects its tokens until "
            "it refetches"
        )
    new_next = _new_key(private, alg, KeyState.NEXT, now)
    swapped = metadata.swap_signing_keys(
        retire=current.kid if current else None,
        promote=upcoming.kid,
        new_next=new_next,
        now=now,
        removable_at=timings.removable_at(now),
        revoke=revoke_current,
    )
    if not swapped:
        private.discard(new_next.kid)
        raise RotationRefused(f"the {alg} keys changed meanwhile (another rotation won); retry")
    report.activated, report.created_next = upcoming.kid, new_next.kid
    if current is not None and revoke_current:
        private.discard(current.kid)
        report.revoked = current.kid
        report.warnings.append(
            f"{current.kid} is revoked: servers drop it from the JWKS within a second (within "
            f"{timings.reload_seconds} s one whose change notifications are down), and every "
            f"unexpired token it signed (issued up to {timings.access_token_ttl} s ago) is then "
            "rejected by verifiers that refetch"
        )
    elif current is not None:
        report.retired = current.kid
    return report


def active_since(info: SigningKeyInfo) -> int:
    """When an active key began signing (a first key signs from its creation)."""
    return info.activated_at or info.created_at


def rotation_due_at(active: int | None, next_published: int | None, timings: Timings) -> int | None:
    """When the scheduled rotation of an algorithm is due: once its active key (signing since
    ``active``) is ``rotation_days`` old and its next key (published at ``next_published``)
    has been published long enough. None when no rotation is scheduled."""
    if timings.rotation_days <= 0 or active is None or next_published is None:
        return None
    return max(active + timings.rotation_days * DAY, next_published + timings.publish_lead)


def rotate_at_earliest(
    metadata: KeyStore, private: PrivateKeys, alg: str, now: int, timings: Timings
) -> RotationReport | Scheduled:
    """``keys rotate --at-earliest``: rotate now if the next key may sign, else schedule its
    promotion for the first moment it may (``rotate_if_due`` performs it)."""
    try:
        return rotate(metadata, private, alg, now, timings)
    except NotPublishedLongEnough as early:
        if not metadata.schedule_promotion(early.kid, early.ready_at):
            raise RotationRefused(
                f"the {alg} keys changed meanwhile (another rotation won); retry"
            ) from None
        return Scheduled(alg, early.kid, early.ready_at)


def rotate_if_due(
    metadata: KeyStore, private: PrivateKeys, alg: str, now: int, timings: Timings
) -> RotationReport | None:
    """Scheduled rotation: when the active key is ``rotation_days`` old, or the promotion an
    operator scheduled is due, and the successor has been published long enough (by this
    server's timings too). Replicas racing here produce one rotation; the losers None."""
    keys = metadata.list_signing_keys()
    current, upcoming = _by_state(keys, alg, KeyState.ACTIVE), _by_state(keys, alg, KeyState.NEXT)
    if upcoming is None:
        return None
    due = rotation_due_at(active_since(current) if current else None, upcoming.created_at, timings)
    aged = due is not None and now >= due
    asked = upcoming.promote_at is not None and now >= upcoming.promote_at
    if not (aged or asked) or now < upcoming.created_at + timings.publish_lead:
        return None
    try:
        return rotate(metadata, private, alg, now, timings)
    except RotationRefused:
        return None  # another replica rotated first


def prune(metadata: KeyStore, private: PrivateKeys, now: int) -> list[str]:
    """Remove retired keys once every token they signed has expired."""
    due = [
        k.kid
        for k in metadata.list_signing_keys()
        if k.state in (KeyState.RETIRED, KeyState.REVOKED)
        and k.removable_at is not None
        and k.removable_at <= now
    ]
    if due:
        metadata.remove_signing_keys(due)
        for kid in due:
            private.discard(kid)
    return due


def sweep(private: PrivateKeys, grace: int = 600) -> list[str]:
    """Remove temporary files that writes killed over ``grace`` seconds ago left behind."""
    return [f"deleted {name}, left by an interrupted key write" for name in private.sweep(grace)]


def repair(metadata: KeyStore, private: PrivateKeys, grace: int = 600) -> list[str]:
    """At start: report and mend what an interrupted rotation may have left.

    Temporary files of killed writes and orphan private keys (no metadata row), older than
    ``grace`` seconds so a rotation under way in another process keeps its new key, were
    never published and are deleted. A published
    key whose private half is missing or unreadable stops the start with a KeyStoreError:
    nothing is ever generated over an existing store.
    """
    keys = metadata.list_signing_keys()
    known = {k.kid for k in keys}
    found = sweep(private, grace)
    stale = private.orphans(known, older_than=grace)
    for kid in stale:
        private.discard(kid)
        found.append(f"deleted unpublished private key {kid} left by an interrupted rotation")
    for kid in sorted(set(private.orphans(known, older_than=0)) - set(stale)):
        found.append(
            f"unpublished private key {kid} kept for {grace} s: a rotation may be under way"
        )
    for info in keys:
        if info.state in KeyState.published():
            private.open(info)
    for msg in found:
        log.warning("key store repair: %s", msg)
    return found
