"""`authority keys rotate --at-earliest`: a rotation too early to make is scheduled instead, for
the servers' key maintenance (tests/keys/test_key_maintenance.py) to make when it is safe."""

from __future__ import annotations

import time

from sqlalchemy import text

from authority.keys.lifecycle import Timings
from authority.settings import Settings
from authority.storage.engine import make_engine
from tests.cli.support import Run, assert_failed

LEAD = Timings.from_settings(Settings()).publish_lead  # the defaults': 390 s


def _young_next_key(run: Run) -> dict[str, int | str]:
    """A next ES256 key published just now (the one a forced rotation leaves)."""
    run("keys", "rotate", "--alg", "ES256", "--force", "--json").json()
    keys = run("keys", "list", "--json").json()["keys"]
    return next(k for k in keys if k["alg"] == "ES256" and k["state"] == "next")


def test_a_refused_rotation_names_the_option_that_schedules_it(run: Run) -> None:
    _young_next_key(run)

    assert_failed(run("keys", "rotate", "--alg", "ES256"), "--force", "--at-earliest")


def test_at_earliest_schedules_the_promotion_and_says_when_in_json(run: Run) -> None:
    upcoming = _young_next_key(run)

    answer = run("keys", "rotate", "--alg", "ES256", "--at-earliest", "--json").json()

    at = int(upcoming["created_at"]) + LEAD
    assert answer == {
        "rotations": [],
        "scheduled": [{"alg": "ES256", "kid": upcoming["kid"], "promote_at": at}],
    }
    keys = run("keys", "list", "--json").json()["keys"]
    listed = {k["kid"]: k for k in keys}
    assert listed[upcoming["kid"]]["state"] == "next"  # nothing rotated yet
    assert listed[upcoming["kid"]]["promote_at"] == at


def test_at_earliest_tells_a_person_when_the_servers_promote_the_key(run: Run) -> None:
    upcoming = _young_next_key(run)

    done = run("keys", "rotate", "--alg", "ES256", "--at-earliest")

    assert done.code == 0, done.err
    at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(upcoming["created_at"]) + LEAD))
    assert done.out.startswith(f"ES256: the servers promote {upcoming['kid']} at {at} UTC (in ")
    assert done.err == ""


def test_at_earliest_rotates_at_once_what_may_already_rotate(run: Run, database_url: str) -> None:
    """Without --alg every algorithm is rotated or scheduled, each as it may."""
    engine = make_engine(database_url)
    with engine.begin() as conn:  # every key published long enough ago
        conn.execute(text("UPDATE signing_keys SET created_at = created_at - :s"), {"s": LEAD})
    engine.dispose()
    upcoming = _young_next_key(run)
    keys = run("keys", "list", "--json").json()["keys"]
    others = sorted({k["alg"] for k in keys if k["state"] == "next"} - {"ES256"})
    assert others  # the install has more than one algorithm

    answer = run("keys", "rotate", "--at-earliest", "--json").json()

    assert [s["kid"] for s in answer["scheduled"]] == [upcoming["kid"]]
    assert [r["alg"] for r in answer["rotations"]] == others


def test_at_earliest_with_force_or_now_is_refused(run: Run) -> None:
    for flag in ("--force", "--now"):
        assert_failed(run("keys", "rotate", "--at-earliest", flag), "--at-earliest")
