"""Signing keys, as operators list and change them: rotations (an emergency's too), a next key
generated, expired keys pruned; each change recorded as an event."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from authority.admin.actor import Actor
from authority.admin.errors import AdminError, Refused
from authority.events import EventType
from authority.keys import KeyRing, lifecycle, private_keys
from authority.keys.lifecycle import Timings
from authority.settings import ALGORITHMS
from authority.storage import KeyState, SigningKeyInfo

if TYPE_CHECKING:
    from authority.admin.provision import Admin


def listing(admin: Admin) -> list[SigningKeyInfo]:
    """Every key the database holds, whatever its state."""
    return admin.storage.list_signing_keys()


def rotate(
    admin: Admin,
    alg: str | None,
    force: bool,
    now_: bool,
    revoke_current: bool,
    by: Actor | None = None,
) -> list[lifecycle.RotationReport]:
    """next -> active, active -> retired (or, with ``revoke_current``, revoked), a new next;
    ``now_`` is an emergency rotation, which promotes a next key however young."""
    if alg is not None and alg not in ALGORITHMS:
        raise AdminError(f"--alg must be one of {', '.join(ALGORITHMS)}")
    if revoke_current and not now_:
        raise AdminError("--revoke-current is for an emergency rotation: add --now")
    algs = [alg] if alg else _rotating(admin)
    if revoke_current and len(algs) > 1:
        raise AdminError("name the compromised key's algorithm with --alg")
    private = private_keys(admin.settings)
    timings = Timings.from_settings(admin.settings)
    now = int(time.time())
    reports = []
    for a in algs:
        try:
            report = lifecycle.rotate(
                admin.storage, private, a, now, timings, force or now_, revoke_current
            )
        except lifecycle.RotationRefused as exc:
            raise Refused(str(exc)) from None
        _rotated(admin, report, "emergency" if now_ else "operator", by)
        reports.append(report)
    return reports


def rotate_at_earliest(
    admin: Admin, alg: str | None, by: Actor | None = None
) -> list[lifecycle.RotationReport | lifecycle.Scheduled]:
    """Rotate each algorithm (or ``alg``) whose next key may sign now; schedule the promotion
    of each other one for the first moment it may, which the servers' key maintenance
    performs."""
    if alg is not None and alg not in ALGORITHMS:
        raise AdminError(f"--alg must be one of {', '.join(ALGORITHMS)}")
    private = private_keys(admin.settings)
    timings = Timings.from_settings(admin.settings)
    now = int(time.time())
    done: list[lifecycle.RotationReport | lifecycle.Scheduled] = []
    for a in [alg] if alg else _rotating(admin):
        try:
            outcome = lifecycle.rotate_at_earliest(admin.storage, private, a, now, timings)
        except lifecycle.RotationRefused as exc:
            raise Refused(str(exc)) from None
        if isinstance(outcome, lifecycle.Scheduled):
            admin.record(
                EventType.KEY_ROTATED,
                outcome.kid,
                by,
                alg=outcome.alg,
                how="scheduled by operator",
                promote_at=outcome.promote_at,
            )
        else:
            _rotated(admin, outcome, "operator", by)
        done.append(outcome)
    return done


def _rotated(admin: Admin, report: lifecycle.RotationReport, how: str, by: Actor | None) -> None:
    """The audit event of a rotation an operator made."""
    admin.record(
        EventType.KEY_ROTATED,
        report.activated,
        by,
        alg=report.alg,
        how=how,
        retired=report.retired,
        revoked=report.revoked,
        next=report.created_next,
    )


def _rotating(admin: Admin) -> list[str]:
    """Every algorithm with a key that signs or will."""
    stored = admin.storage.list_signing_keys()
    return sorted({k.alg for k in stored if k.state in (KeyState.ACTIVE, KeyState.NEXT)})


def generate(admin: Admin, alg: str, by: Actor | None = None) -> SigningKeyInfo:
    """Publish a next key for ``alg``."""
    if alg not in ALGORITHMS:
        raise AdminError(f"--alg must be one of {', '.join(ALGORITHMS)}")
    private = private_keys(admin.settings)
    try:
        info = lifecycle.add_next(admin.storage, private, alg, int(time.time()))
    except lifecycle.RotationRefused as exc:
        raise Refused(str(exc)) from None
    admin.record(EventType.KEY_GENERATED, info.kid, by, alg=info.alg, state=info.state.value)
    return info


def prune(admin: Admin, by: Actor | None = None) -> list[str]:
    """Remove retired keys whose tokens have all expired; returns their kids."""
    removed = lifecycle.prune(admin.storage, private_keys(admin.settings), int(time.time()))
    for kid in removed:
        admin.record(EventType.KEY_REMOVED, kid, by)
    return removed


def public_jwks(admin: Admin) -> dict[str, Any]:
    ring = KeyRing.load(admin.storage, private_keys(admin.settings))
    return {"keys": [k.public_jwk for k in ring.keys]}


def key_view(key: SigningKeyInfo) -> dict[str, Any]:
    view = asdict(key)
    del view["sealed"]
    return view
