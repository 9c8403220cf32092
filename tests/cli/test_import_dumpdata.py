"""`authority users import` reads every shape of dumpdata, from a file or standard input, says
what it passed over and what it did not keep, and maps each Django pk to its new sub."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from tests.cli.support import Result, Run, assert_failed

PBKDF2 = "pbkdf2_sha256$1000$c2FsdA$AAAA"  # well formed; no password matches it


def _user(pk: int, username: str, model: str = "auth.user", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "password": PBKDF2,
        "last_login": None,
        "is_superuser": False,
        "username": username,
        "first_name": "",
        "last_name": "",
        "email": f"{username}@example.com",
        "is_staff": False,
        "is_active": True,
        "date_joined": "2024-01-01T00:00:00Z",
        "groups": [],
        "user_permissions": [],
    }
    return {"model": model, "pk": pk, "fields": {**base, **fields}}


# What `dumpdata auth` adds around the users: permissions (with their content types) and groups.
OTHERS = [
    {"model": "auth.permission", "pk": n, "fields": {"name": f"p{n}", "content_type": 1}}
    for n in range(1, 23)
] + [
    {"model": "auth.group", "pk": 1, "fields": {"name": "editors", "permissions": [1, 2]}},
    {"model": "contenttypes.contenttype", "pk": 1, "fields": {"app_label": "a", "model": "b"}},
]


def _jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def _report(result: Result, code: int = 0) -> dict[str, Any]:
    assert result.code == code, result.err
    value = json.loads(result.out)
    assert isinstance(value, dict)
    return value


def test_reads_a_dumpdata_array_from_standard_input(run: Run) -> None:
    records = [_user(1, "ann"), _user(2, "ben")]

    report = _report(run("users", "import", "-", "--json", stdin=json.dumps(records)))

    assert (report["created"], report["failed"]) == (2, [])
    assert [u["username"] for u in report["users"]] == ["ann", "ben"]


def test_reads_dumpdata_json_lines_and_names_a_broken_line(run: Run) -> None:
    text = _jsonl([_user(1, "ann"), _user(2, "ben")]) + '{"model": "auth.user", "pk"\n'
    text += _jsonl([_user(4, "cid", password="sha256$nope")])

    result = run("users", "import", "-", stdin=text)

    assert result.code == 1
    assert result.err.splitlines() == [
        "authority: line 3: not JSON: Expecting ':' delimiter",
        "authority: line 4: unsupported password hash (Django's pbkdf2_sha256, pbkdf2_sha1, "
        "argon2, bcrypt_sha256, bcrypt, scrypt, md5, sha1, unsalted_md5, argon2id)",
    ]
    assert result.out.splitlines()[-1].startswith("created 2, updated 0, skipped 2 bad row(s)")
    assert sorted(_names(run)) == ["ann", "ben"]


def test_dumpdata_of_the_whole_auth_app_imports_its_users_and_counts_the_rest_once(
    run: Run,
) -> None:
    records = [*OTHERS[:10], _user(1, "ann"), *OTHERS[10:], _user(2, "ben")]

    for text in (json.dumps(records, indent=2), _jsonl(records)):
        result = run("users", "import", "-", "--json", stdin=text)
        report = _report(result)
        assert (report["created"] + report["updated"], report["failed"]) == (2, [])
        assert report["ignored"] == {
            "auth.permission": 22,
            "auth.group": 1,
            "contenttypes.contenttype": 1,
        }
        assert result.err == (
            "authority: ignored 24 row(s) of other models: auth.permission (22 rows), "
            "auth.group (1 row), contenttypes.contenttype (1 row)\n"
        )


def test_a_custom_user_model_that_looks_like_auth_user_is_imported(run: Run) -> None:
    records = [_user(7, "ann", model="accounts.user", phone="+4412345")]

    result = run("users", "import", "-", "--json", stdin=json.dumps(records))

    report = _report(result)
    assert report["models"] == {"accounts.user": 1}
    assert report["users"][0]["pk"] == 7 and report["users"][0]["username"] == "ann"
    assert "authority: read as users, as they look like auth.user: accounts.user (1 row)" in (
        result.err.splitlines()
    )


def test_a_custom_user_model_without_a_username_is_skipped_saying_why(run: Run) -> None:
    row = _user(1, "unused", model="accounts.user")
    del row["fields"]["username"]  # USERNAME_FIELD = "email"

    result = run("users", "import", "-", stdin=_jsonl([row]))

    assert result.code == 1
    assert result.err == (
        "authority: line 1: accounts.user has no username field; export "
        "username,email,password_hash,is_active as CSV instead\n"
    )
    assert _names(run) == []


def test_says_once_which_fields_holding_data_were_not_imported(run: Run) -> None:
    records = [
        _user(1, "ann", is_staff=True, is_superuser=True, first_name="Ann", groups=[1]),
        _user(2, "ben", is_staff=True, last_name="Bell", date_joined="last tuesday"),
        _user(3, "cid"),
    ]

    result = run("users", "import", "-", "--json", stdin=json.dumps(records))

    report = _report(result)
    assert report["dropped"] == {
        "date_joined": 1,  # not a date; the others became created_at
        "first_name": 1,
        "groups": 1,
        "is_staff": 2,
        "is_superuser": 1,
        "last_name": 1,
    }
    assert result.err == (
        "authority: warning: not imported, as authority keeps no such field: "
        "date_joined (1 user), first_name (1 user), groups (1 user), is_staff (2 users), "
        "is_superuser (1 user), last_name (1 user)\n"
    )


def test_nothing_is_said_of_fields_that_held_no_data(run: Run) -> None:
    records = [_user(1, "ann"), _user(2, "ben", date_joined=None)]

    result = run("users", "import", "-", stdin=json.dumps(records))

    assert (result.code, result.err) == (0, "")


def test_date_joined_becomes_the_new_users_created_at(run: Run) -> None:
    joined = [_user(1, "ann", date_joined="2024-01-01T00:00:00.123Z")]
    later = [_user(1, "ann", date_joined="2025-06-01T00:00:00Z")]

    run("users", "import", "-", stdin=json.dumps(joined))
    run("users", "import", "-", stdin=json.dumps(later))

    assert run("users", "show", "ann", "--json").json()["created_at"] == 1704067200


def test_prints_each_django_pk_with_its_sub_and_keeps_the_subs_on_a_rerun(run: Run) -> None:
    text = json.dumps([_user(11, "ann"), _user(12, "ben")])

    first = _report(run("users", "import", "-", "--json", stdin=text))
    human = run("users", "import", "-", stdin=text)

    stored = {u["username"]: u["sub"] for u in run("users", "list", "--json").json()["users"]}
    assert first["users"] == [
        {"pk": 11, "username": "ann", "sub": stored["ann"]},
        {"pk": 12, "username": "ben", "sub": stored["ben"]},
    ]
    assert human.code == 0
    lines = human.out.splitlines()
    assert lines[0].split() == ["pk", "username", "sub"]
    assert [line.split() for line in lines[1:3]] == [
        ["11", "ann", stored["ann"]],
        ["12", "ben", stored["ben"]],
    ]
    assert lines[3].startswith("created 0, updated 2, skipped 0 bad row(s)")


def test_writes_the_mapping_to_a_csv_or_json_map_file(run: Run, tmp_path: Path) -> None:
    text = json.dumps([_user(11, "ann"), _user(12, "ben", password="nope")])

    result = run("users", "import", "-", "--map-file", str(tmp_path / "map.csv"), stdin=text)
    again = run("users", "import", "-", "--map-file", str(tmp_path / "map.json"), stdin=text)

    sub = run("users", "show", "ann", "--json").json()["sub"]
    assert result.code == again.code == 1  # ben was skipped, and is in neither map
    assert result.out.splitlines() == [
        result.out.splitlines()[0].split(";")[0] + f"; pk -> sub mapping written to "
        f"{tmp_path / 'map.csv'}"
    ]
    with open(tmp_path / "map.csv", newline="") as handle:
        assert list(csv.DictReader(handle)) == [{"pk": "11", "username": "ann", "sub": sub}]
    written = json.loads((tmp_path / "map.json").read_text())
    assert written == [{"pk": 11, "username": "ann", "sub": sub}]


def test_a_map_file_that_cannot_be_written_stops_the_import_before_it_starts(
    run: Run, tmp_path: Path
) -> None:
    text = json.dumps([_user(1, "ann")])
    target = str(tmp_path / "missing" / "map.csv")

    assert_failed(run("users", "import", "-", "--map-file", target, stdin=text), "cannot write")
    assert _names(run) == []


def test_a_csv_row_maps_without_a_pk(run: Run) -> None:
    text = f"username,email,password_hash,is_active\nann,,{PBKDF2},true\n"

    report = _report(run("users", "import", "-", "--json", stdin=text))
    human = run("users", "import", "-", stdin=text)

    assert report["users"][0]["pk"] is None
    assert human.out.splitlines()[1].split()[0] == "ann"  # an empty cell, not "None"


def _names(run: Run) -> list[str]:
    return [u["username"] for u in run("users", "list", "--json").json()["users"]]
