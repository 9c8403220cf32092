"""`authority users import`: users from Django keep their passwords; re-hashed at login."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from authority.runtime import Authority
from tests.cli.support import Result, Run, assert_failed
from tests.conftest import Registered
from tests.http.helpers import post_token

# Real Django hashers (cheap parameters) write the hashes, as `dumpdata auth.user` would.
DJANGO_DUMP = r"""
import json, sys
import django
from django.conf import settings
settings.configure()
django.setup()
from django.contrib.auth import hashers as h

class FastPBKDF2(h.PBKDF2PasswordHasher):
    iterations = 1000

class FastArgon2(h.Argon2PasswordHasher):
    time_cost, memory_cost, parallelism = 1, 1024, 1

class FastBcrypt(h.BCryptSHA256PasswordHasher):
    rounds = 4

class FastPlainBcrypt(h.BCryptPasswordHasher):
    rounds = 4

users = [
    ("pat", "pat@example.com", h.make_password("pbkdf2 password", hasher=FastPBKDF2()), True),
    ("ari", "ari@example.com", h.make_password("argon2 password", hasher=FastArgon2()), True),
    ("bea", "", h.make_password("bcrypt password", hasher=FastBcrypt()), True),
    ("bob", "", h.make_password("plain bcrypt password", hasher=FastPlainBcrypt()), True),
    ("max", "", h.make_password("md5 password", hasher=h.MD5PasswordHasher()), True),
    ("gone", "gone@example.com", h.make_password("gone password", hasher=FastPBKDF2()), False),
    ("nopass", "", h.make_password(None), True),
]
records = [
    {"model": "auth.user", "pk": pk, "fields": {
        "password": pw, "username": name, "email": email, "is_active": active,
        "is_staff": False, "is_superuser": False, "first_name": "", "last_name": "",
        "date_joined": "2024-01-01T00:00:00Z", "last_login": None, "groups": [],
        "user_permissions": []}}
    for pk, (name, email, pw, active) in enumerate(users, 1)
]
json.dump(records, sys.stdout, indent=2)
"""
PBKDF2 = "pbkdf2_sha256$1000$c2FsdA$AAAA"  # well formed; no password matches it
PASSWORDS = {
    "pat": "pbkdf2 password",
    "ari": "argon2 password",
    "bea": "bcrypt password",
    "bob": "plain bcrypt password",
    "max": "md5 password",
}
USERS = ["ari", "bea", "bob", "gone", "max", "nopass", "pat"]


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = subprocess.run(
        [sys.executable, "-c", DJANGO_DUMP], capture_output=True, text=True, check=True, timeout=120
    )
    path = tmp_path_factory.mktemp("django") / "users.json"
    path.write_text(out.stdout)
    return path


def test_imports_a_dumpdata_file_and_is_idempotent(run: Run, dump: Path) -> None:
    first = run("users", "import", str(dump), "--json").json()
    assert (first["created"], first["updated"], first["failed"]) == (7, 0, [])
    again = run("users", "import", str(dump), "--json").json()
    assert (again["created"], again["updated"], again["failed"]) == (0, 7, [])
    users = run("users", "list", "--json").json()["users"]
    assert sorted(u["username"] for u in users) == USERS
    assert next(u for u in users if u["username"] == "gone")["disabled"] is True
    assert again["users"] == first["users"]  # the same subs: updated, never duplicated


@pytest.mark.parametrize("username", sorted(PASSWORDS))
def test_an_imported_user_logs_in_with_the_django_password_and_is_rehashed(
    run_bare: Run,
    dump: Path,
    http: TestClient,
    app_client: Registered,
    authority: Authority,
    username: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTHORITY_KEYS_DIR", str(authority.settings.keys_dir))  # its install
    assert run_bare("users", "import", str(dump), "--json").json()["created"] == 7
    stored = authority.storage.get_user_by_username(username)
    assert stored is not None and not stored.password_hash.startswith("$argon2id$")
    data = {"grant_type": "password", "username": username, "password": "wrong"}
    assert post_token(http, data, app_client).status_code == 400
    data["password"] = PASSWORDS[username]
    assert post_token(http, data, app_client).status_code == 200
    upgraded = authority.storage.get_user_by_username(username)
    assert upgraded is not None and upgraded.password_hash.startswith("$argon2id$")
    assert post_token(http, data, app_client).status_code == 200  # and the new hash works


def test_an_unusable_or_disabled_django_user_cannot_log_in(
    run_bare: Run,
    dump: Path,
    http: TestClient,
    app_client: Registered,
    authority: Authority,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTHORITY_KEYS_DIR", str(authority.settings.keys_dir))
    assert run_bare("users", "import", str(dump), "--json").json()["created"] == 7
    for username, password in (("nopass", ""), ("nopass", "!"), ("gone", "gone password")):
        data = {"grant_type": "password", "username": username, "password": password or "x"}
        assert post_token(http, data, app_client).status_code == 400


def test_bad_rows_are_reported_by_line_and_element_and_the_exit_is_1(
    run: Run, tmp_path: Path
) -> None:
    rows = [
        {"model": "auth.user", "pk": 1, "fields": {"username": "ok1", "password": PBKDF2}},
        {"model": "auth.user", "pk": 2, "fields": {"username": "bad hash", "password": "md5$x$y"}},
        {"model": "auth.group", "pk": 1, "fields": {"name": "staff", "permissions": []}},
        {"model": "auth.user", "pk": 3, "fields": {"username": "ok2", "password": "!unusable"}},
        {"model": "auth.user", "pk": 4, "fields": {"username": "ok3", "password": "crypt$$x"}},
    ]
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(rows, indent=1))

    result = run("users", "import", str(path), "--json")

    report = _report(result, code=1)
    assert (report["created"], report["updated"]) == (2, 0)
    text = path.read_text().splitlines()
    assert [(bad["index"], text[bad["line"] - 1]) for bad in report["failed"]] == [
        (1, " {"),
        (4, " {"),
    ]
    assert "bad hash" in report["failed"][0]["error"]
    assert report["failed"][1]["error"].startswith("unsupported password hash")
    assert '"username": "bad hash"' in text[report["failed"][0]["line"] + 3]
    lines = result.err.splitlines()
    assert lines[0].startswith(f"authority: line {report['failed'][0]['line']} (element [1]): ")
    assert lines[1].startswith(f"authority: line {report['failed'][1]['line']} (element [4]): ")
    assert lines[2:] == ["authority: ignored 1 row(s) of other models: auth.group (1 row)"]


def test_imports_the_csv_form_too(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text(
        "username,email,password_hash,is_active\n"
        "carl,carl@example.com,pbkdf2_sha256$1000$c2FsdA$AAAA,true\n"
        "dora,,bcrypt_sha256$$2b$04$abcdefghijklmnopqrstuu5A/E1c0Zk4E6bGm4dH9f3X1Fb0ZrS1K,no\n"
        "eve,not-an-email,pbkdf2_sha256$1000$c2FsdA$AAAA,true\n"
    )
    report = _report(run("users", "import", str(path), "--email-verified", "--json"), code=1)
    assert (report["created"], report["failed"]) == (
        2,
        [{"line": 4, "error": "'not-an-email' is not an email address"}],
    )
    carl = run("users", "show", "carl", "--json").json()
    assert carl["email_verified"] is True
    assert run("users", "show", "dora", "--json").json()["disabled"] is True


def test_an_unreadable_file_fails_with_one_line(run: Run, tmp_path: Path) -> None:
    assert_failed(run("users", "import", str(tmp_path / "missing.json")), "cannot read")
    broken = tmp_path / "broken.json"
    broken.write_text('{"not": "an array"}')
    assert_failed(run("users", "import", str(broken), "--format", "json"), "must hold an array")
    assert_failed(run("users", "import", "-", stdin=" \n"), "standard input: the input is empty")


def test_imports_under_the_one_identity_rule(run: Run, tmp_path: Path) -> None:
    pbkdf2 = "pbkdf2_sha256$1000$c2FsdA$AAAA"
    path = tmp_path / "users.csv"
    path.write_text(
        "username,email,password_hash,is_active\n"
        f"José.García+1@work,Jose.Garcia@Example.COM,{pbkdf2},true\n"  # Django's [\w.@+-]
        f"ctrl\x01name,,{pbkdf2},true\n"
        f"zero\u200bwidth,,{pbkdf2},true\n"
        f"\u0430dmin,,{pbkdf2},true\n"
        f"carol,carol@example.com,{pbkdf2},true\n"
        f"Carol,other@example.com,{pbkdf2},true\n"  # differs from carol only in case
        f'eve,"eve@example.com,postmaster@example.com",{pbkdf2},true\n',
        encoding="utf-8",
    )

    report = _report(run("users", "import", str(path), "--json"), code=1)

    rule = "a username holds 1 to 150 letters or digits of one script"
    failed = {bad["line"]: bad["error"] for bad in report["failed"]}
    assert report["created"] == 2
    assert sorted(failed) == [3, 4, 5, 7, 8]
    assert all(rule in failed[line] for line in (3, 4, 5))
    assert failed[7] == "'Carol' differs only in case from another username"
    assert failed[8] == "'eve@example.com,postmaster@example.com' is not an email address"
    jose = run("users", "show", "José.García+1@work", "--json").json()
    assert jose["email"] == "jose.garcia@example.com"
    assert sorted(_names(run)) == ["José.García+1@work", "carol"]

    again = _report(run("users", "import", str(path), "--json"), code=1)
    assert (again["created"], again["updated"]) == (0, 2)  # still refused, never duplicated
    assert sorted(bad["line"] for bad in again["failed"]) == [3, 4, 5, 7, 8]


def test_a_username_differing_only_in_case_from_a_stored_one_is_refused(
    run: Run, tmp_path: Path
) -> None:
    run("users", "create", "dave", "--password-stdin", "--json", stdin="correct horse battery\n")
    path = tmp_path / "users.csv"
    path.write_text(
        "username,email,password_hash,is_active\nDAVE,,pbkdf2_sha256$1000$c2FsdA$AAAA,true\n"
    )

    report = _report(run("users", "import", str(path), "--json"), code=1)

    assert (report["created"], report["updated"]) == (0, 0)
    assert report["failed"] == [
        {"line": 2, "error": "'DAVE' differs only in case from another username"}
    ]
    assert _names(run) == ["dave"]


def _report(result: Result, code: int) -> dict[str, Any]:
    """The one JSON object of a run that ended with ``code``."""
    assert result.code == code, result.err
    value = json.loads(result.out)
    assert isinstance(value, dict)
    return value


def _names(run: Run) -> list[str]:
    return [u["username"] for u in run("users", "list", "--json").json()["users"]]
