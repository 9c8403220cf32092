"""The periodic jobs, key maintenance and housekeeping: every step runs on its own, and the
key reload always runs."""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from typing import Any

import pytest

from authority.admin import keys as signing_keys
from authority.admin.provision import Admin
from authority.keys import DirectoryKeyStore, lifecycle
from authority.keys.lifecycle import Timings
from authority.runtime import Authority
from tests.conftest import FakeClock

# What each step calls, by the line its failure is logged in.
STEPS = ("rotate_if_due", "prune", "sweep", "purge", "purge_failures", "purge_links")
LOGGED = {
    "rotate_if_due": "key maintenance: scheduled ES256 key rotation",
    "prune": "key maintenance: key pruning",
    "sweep": "key maintenance: temporary key file sweep",
    "purge": "housekeeping: session purge",
    "purge_failures": "housekeeping: login failure purge",
    "purge_links": "housekeeping: link purge",
}
SECRET_DETAIL = "[parameters: ('a3f9c1-secret-token-hash',)]"


@pytest.fixture
def calls(authority: Authority, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts the calls of every step; each step still does its work."""
    counted: dict[str, int] = dict.fromkeys(STEPS, 0)

    def spy(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def step(*args: Any, **kwargs: Any) -> Any:
            counted[name] += 1
            return real(*args, **kwargs)

        return step

    for name in ("rotate_if_due", "prune", "sweep"):
        monkeypatch.setattr(lifecycle, name, spy(name, getattr(lifecycle, name)))
    for name in ("purge", "purge_failures", "purge_links"):
        monkeypatch.setattr(authority.storage, name, spy(name, getattr(authority.storage, name)))
    return counted


def _fail(authority: Authority, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"(psycopg.OperationalError) {SECRET_DETAIL}")

    target = lifecycle if name in ("rotate_if_due", "prune", "sweep") else authority.storage
    monkeypatch.setattr(target, name, broken)


def _emergency_rotation(authority: Authority) -> tuple[str, str]:
    """``keys rotate --now --revoke-current`` made by another process: (revoked, promoted)."""
    report = lifecycle.rotate(
        authority.storage,
        DirectoryKeyStore(authority.settings.keys_dir),
        "ES256",
        authority.now(),
        Timings.from_settings(authority.settings),
        force=True,
        revoke_current=True,
    )
    assert report.revoked is not None and report.activated is not None
    return report.revoked, report.activated


@pytest.mark.parametrize("failing", STEPS)
def test_a_failing_step_is_logged_in_one_line_and_every_other_step_and_the_reload_still_run(
    authority: Authority,
    calls: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failing: str,
) -> None:
    revoked, promoted = _emergency_rotation(authority)
    _fail(authority, monkeypatch, failing)

    with caplog.at_level(logging.INFO, logger="authority"):
        authority.maintain_keys()
        authority.housekeep()

    assert {name: n for name, n in calls.items() if name != failing} == {
        name: 1 for name in STEPS if name != failing
    }
    assert authority.keys.current().active("ES256").kid == promoted
    assert authority.keys.current().trusted(revoked) is None
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in errors] == [f"{LOGGED[failing]} failed: RuntimeError"]
    assert errors[0].exc_info is None  # one line: no traceback, no statement, no parameters


def test_a_rotation_that_cannot_write_its_key_says_why_in_one_line(
    authority: Authority, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def read_only(kid: str, key: Any) -> None:
        raise OSError(errno.EROFS, "Read-only file system", f"/srv/keys/.{kid}.pem.0a1b.tmp")

    monkeypatch.setattr(authority.private_keys, "seal", read_only)
    clock.advance(31 * 86400)  # the active key is due for rotation
    with caplog.at_level(logging.WARNING, logger="authority"):
        assert authority.maintain_keys() == []
    [record] = caplog.records
    assert record.getMessage().startswith(
        "key maintenance: scheduled ES256 key rotation failed: OSError: Read-only file system "
        "(/srv/keys/."
    )


def test_a_promotion_scheduled_by_the_cli_is_made_by_one_replica_when_due(
    authority: Authority, clock: FakeClock
) -> None:
    admin = Admin(authority.settings, authority.storage)
    other_clock = FakeClock(clock.now)
    other = Authority(authority.settings, authority.storage, clock=other_clock)
    before = authority.keys.current().active("ES256").kid
    [scheduled] = signing_keys.rotate_at_earliest(admin, "ES256")  # `keys rotate --at-earliest`
    assert isinstance(scheduled, lifecycle.Scheduled)

    clock.now = other_clock.now = scheduled.promote_at - 1
    assert authority.maintain_keys() == [] and other.maintain_keys() == []
    clock.now = other_clock.now = scheduled.promote_at
    [report] = authority.maintain_keys()
    assert other.maintain_keys() == []  # the other replica finds it done

    assert report.activated == scheduled.kid and report.retired == before
    for replica in (authority, other):
        assert replica.keys.current().active("ES256").kid == scheduled.kid
    states = sorted(k.state for k in authority.storage.list_signing_keys())
    assert states == ["active", "next", "retired"]
