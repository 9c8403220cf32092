"""What operators change is in the audit trail when the command returns, naming the OS user
who ran it; `authority audit list` and `export` read the trail back."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import update

from authority.storage import AuditRecord, Consent
from authority.storage.engine import make_engine
from authority.storage.sql import SqlStorage
from authority.storage.tables import signing_keys
from tests.cli.support import Run, assert_failed

PASSWORD = "long enough password\n"
OPERATOR = {"actor_kind": "operator", "actor": "ops-ann"}


@pytest.fixture(autouse=True)
def operator(monkeypatch: pytest.MonkeyPatch) -> None:
    """The OS user running the commands, as getpass finds it."""
    monkeypatch.setenv("LOGNAME", "ops-ann")


def events(run: Run, *flags: str) -> list[dict[str, Any]]:
    """The trail, oldest first."""
    listed: list[dict[str, Any]] = run("audit", "list", "--limit", "1000", *flags, "--json").json()[
        "events"
    ]
    return listed[::-1]


def last(run: Run, type: str) -> dict[str, Any]:
    [found] = [e for e in events(run) if e["type"] == type]
    return found


def client(run: Run, *flags: str) -> str:
    created = run(
        "clients", "create", "app", "--grant", "password", "--scope", "read", *flags, "--json"
    ).json()
    return str(created["client_id"])


def user(run: Run, name: str = "alice") -> str:
    return str(
        run("users", "create", name, "--password-stdin", "--json", stdin=PASSWORD).json()["sub"]
    )


def test_every_change_to_a_client_is_recorded_with_who_made_it(run: Run) -> None:
    cid = client(run)
    run("clients", "update", cid, "--scope", "read write", "--name", "renamed", "--json")
    run("clients", "set-introspection", cid, "--introspect-any", "--json")
    run("clients", "disable", cid, "--json")
    run("clients", "enable", cid, "--json")
    run("clients", "rotate-secret", cid, "--grace", "0", "--json")
    run("clients", "delete", cid, "--json")
    run("clients", "show", cid)  # reading changes nothing, and records nothing

    trail = events(run)
    assert [e["type"] for e in trail] == [
        "client.created",
        "client.updated",
        "client.updated",
        "client.disabled",
        "client.enabled",
        "client.secret_rotated",
        "client.deleted",
    ]
    for event in trail:
        assert {k: event[k] for k in OPERATOR} == OPERATOR
        assert (event["subject"], event["client_id"]) == (cid, cid)
        assert (event["ip"], event["request_id"]) == (None, None)
    created, renamed, introspection = trail[:3]
    assert created["detail"] == {
        "name": "app",
        "grant_types": "password",
        "scopes": "read",
        "public": False,
    }
    assert renamed["detail"] == {"changed": "name scopes"}
    assert introspection["detail"] == {"changed": "introspect_any"}
    assert trail[5]["detail"] == {"grace": 0}


def test_every_change_to_a_user_is_recorded_with_who_made_it(
    run: Run, database_url: str, tmp_path: Any
) -> None:
    sub = user(run)
    cid = client(run)
    run("users", "update", "alice", "--username", "alicia", "--email", "a@example.com", "--json")
    run("users", "disable", "alicia", "--json")
    run("users", "enable", "alicia", "--json")
    run("users", "set-password", "alicia", "--password-stdin", "--json", stdin=PASSWORD)
    run("users", "logout", "alicia", "--json")
    run("users", "unlock", "alicia", "--json")
    storage = SqlStorage.from_url(database_url)
    storage.grant_consent(Consent(sub, cid, ("read",), int(time.time())))
    storage.close()
    run("users", "consents", "alicia", "--withdraw", cid, "--json")
    csv = tmp_path / "users.csv"
    csv.write_text(
        "username,email,password_hash,is_active\ncarl,,pbkdf2_sha256$1000$c2FsdA$AAAA,true\n"
    )
    run("users", "import", str(csv), "--json")
    run("users", "delete", "alicia", "--json")

    trail = [e for e in events(run) if e["type"].startswith("user.")]
    assert [e["type"] for e in trail] == [
        "user.created",
        "user.updated",
        "user.disabled",
        "user.enabled",
        "user.password_set",
        "user.logged_out",
        "user.unlocked",
        "user.consent_withdrawn",
        "user.imported",
        "user.deleted",
    ]
    for event in trail:
        assert {k: event[k] for k in OPERATOR} == OPERATOR
        if event["type"] != "user.imported":
            assert event["subject"] == sub
    by_type = {e["type"]: e for e in trail}
    assert by_type["user.created"]["detail"] == {"username": "alice"}
    assert by_type["user.updated"]["detail"] == {"username": "alicia", "changed": "username email"}
    assert by_type["user.password_set"]["detail"] == {
        "username": "alicia",
        "sessions_ended": 0,
        "sessions_kept": False,
    }
    assert by_type["user.logged_out"]["detail"] == {
        "username": "alicia",
        "session_id": None,
        "ended": 0,
    }
    assert by_type["user.consent_withdrawn"]["client_id"] == cid
    assert by_type["user.imported"]["detail"] == {"created": 1, "updated": 0, "skipped": 0}


def test_key_changes_are_recorded_and_an_emergency_rotation_says_so(
    run: Run, database_url: str
) -> None:
    generated = run("keys", "generate", "--alg", "EdDSA", "--json").json()
    rotated = run("keys", "rotate", "--alg", "ES256", "--force", "--json").json()["rotations"]
    emergency = run(
        "keys", "rotate", "--alg", "ES256", "--now", "--revoke-current", "--json"
    ).json()["rotations"]
    engine = make_engine(database_url)  # the retired key's tokens have all expired
    with engine.begin() as conn:
        conn.execute(
            update(signing_keys).where(signing_keys.c.state == "retired").values(removable_at=1)
        )
    engine.dispose()
    removed = run("keys", "prune", "--json").json()["removed"]
    assert removed

    trail = [e for e in events(run) if e["type"].startswith("key.")]
    assert [e["type"] for e in trail] == [
        "key.generated",
        "key.rotated",
        "key.rotated",
        *["key.removed"] * len(removed),
    ]
    for event in trail:
        assert {k: event[k] for k in OPERATOR} == OPERATOR
    made, scheduled, urgent = trail[:3]
    assert made["subject"] == generated["kid"]
    assert made["detail"] == {"alg": "EdDSA", "state": "next"}
    [first], [second] = rotated, emergency
    assert scheduled["subject"] == first["activated"]
    assert scheduled["detail"] == {
        "alg": "ES256",
        "how": "operator",
        "retired": first["retired"],
        "revoked": None,
        "next": first["created_next"],
    }
    assert urgent["detail"]["how"] == "emergency"
    assert urgent["detail"]["revoked"] == second["revoked"]
    assert [e["subject"] for e in trail[3:]] == removed


def test_with_the_trail_off_the_cli_records_nothing(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHORITY_AUDIT", "off")
    client(run)
    user(run)
    assert run("audit", "list", "--json").json() == {"events": []}


# -- audit list ----------------------------------------------------------------------------


def seed(database_url: str, now: float) -> None:
    """Events of two users and two clients, one an hour for ten hours, the newest an hour ago."""
    storage = SqlStorage.from_url(database_url)
    records = []
    for n in range(10):
        records.append(
            AuditRecord(
                at=now - (10 - n) * 3600,
                type=("login.failed", "login.succeeded", "logout")[n % 3],
                actor_kind="user",
                actor="sub-a" if n % 2 else "sub-b",
                subject="sub-a" if n % 2 else "sub-b",
                client_id="web" if n < 5 else "app",
                ip="192.0.2.7",
                request_id=f"req-{n}",
                detail={"n": n},
            )
        )
    storage.add_audit_events(records)
    storage.close()


def ns(found: list[dict[str, Any]]) -> list[int]:
    return [e["detail"]["n"] for e in found]


def test_the_listing_is_newest_first_and_says_which_database(run: Run, database_url: str) -> None:
    seed(database_url, time.time())
    document = run("audit", "list", "--json").document()
    assert isinstance(document.pop("database"), str)
    assert ns(document["events"]) == list(range(9, -1, -1))
    first = document["events"][0]
    assert set(first) == {
        "id",
        "time",
        "at",
        "type",
        "actor_kind",
        "actor",
        "subject",
        "client_id",
        "ip",
        "user_agent",
        "request_id",
        "detail",
    }
    assert first["time"].endswith("Z") and "T" in first["time"]
    assert "next" not in document


def test_the_filters_narrow_the_listing(run: Run, database_url: str) -> None:
    now = time.time()
    seed(database_url, now)
    user(run, "bob")

    def listed(*flags: str) -> list[int]:
        found = run("audit", "list", *flags, "--json").json()["events"]
        return ns([e for e in found if "n" in e["detail"]])

    assert listed("--since", "3h") == [9, 8]
    assert listed("--since", "5h", "--until", "3h") == [7, 6]
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 2.5 * 3600))
    assert listed("--since", iso) == [9, 8]
    assert listed("--type", "logout") == [8, 5, 2]
    assert listed("--type", "login.failed", "--type", "logout") == [9, 8, 6, 5, 3, 2, 0]
    assert listed("--type", "login") == [9, 7, 6, 4, 3, 1, 0]
    assert listed("--user", "sub-a") == [9, 7, 5, 3, 1]
    assert listed("--client", "web", "--type", "login.succeeded") == [4, 1]
    # --user takes a username as well: bob's own creation is about his sub.
    [created] = run("audit", "list", "--user", "bob", "--json").json()["events"]
    assert created["type"] == "user.created"


def test_pages_follow_each_other_with_before(run: Run, database_url: str) -> None:
    seed(database_url, time.time())
    seen: list[int] = []
    flags: list[str] = []
    while True:
        page = run("audit", "list", "--limit", "4", *flags, "--json").json()
        seen += ns(page["events"])
        if "next" not in page:
            break
        assert page["next"] == page["events"][-1]["id"]
        flags = ["--before", str(page["next"])]
    assert seen == list(range(9, -1, -1))


def test_the_human_listing_is_one_line_an_event(run: Run, database_url: str) -> None:
    seed(database_url, time.time())
    result = run("audit", "list", "--limit", "2", "--client", "app")
    lines = result.out.splitlines()
    assert len(lines) == 3 and lines[2].startswith("(more: --before ")
    assert "login.failed" in lines[0] and "user:sub-a" in lines[0] and "client=app" in lines[0]
    assert "ip=192.0.2.7" in lines[0] and "n=9" in lines[0]
    assert run("audit", "list", "--type", "key").out == "(none)\n"


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--since", "yesterday"], ["--since", "24h", "'yesterday'"]),
        (["--until", "2026-13-01"], ["--until", "ISO 8601"]),
        (["--type", "logins"], ["--type 'logins' is no event type", "login,"]),
        (["--limit", "0"], ["--limit must be 1 to 100000"]),
        (["--before", "999999"], ["no audit event 999999"]),
    ],
)
def test_bad_filters_are_refused_in_one_line(run: Run, flags: list[str], words: list[str]) -> None:
    assert_failed(run("audit", "list", *flags, "--json"), *words)


# -- audit export --------------------------------------------------------------------------


def test_export_streams_json_lines_oldest_first(run: Run, database_url: str) -> None:
    seed(database_url, time.time())
    result = run("audit", "export", "--since", "7d", "--type", "login")
    assert result.code == 0, result.err
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert ns(lines) == [0, 1, 3, 4, 6, 7, 9]
    assert all(isinstance(line["id"], int) for line in lines)
    assert run("audit", "export", "--since", "30m").out == ""


def test_export_pages_through_more_than_a_page(run: Run, database_url: str) -> None:
    storage = SqlStorage.from_url(database_url)
    now = time.time()
    storage.add_audit_events(
        [AuditRecord(now - 1, "login.failed", "client", detail={"n": n}) for n in range(1201)]
    )
    storage.close()
    result = run("audit", "export", "--since", "1h")
    assert ns([json.loads(line) for line in result.out.splitlines()]) == list(range(1201))


def test_export_needs_since(run_bare: Run, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run_bare("audit", "export")
    assert exited.value.code == 2
    assert "the following arguments are required: --since" in capsys.readouterr().err
