"""A Django project's users move over as README says: ``django-admin dumpdata auth.user``
piped into ``authority users import -``; their old passwords then log in over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import AUTHORITY, BIN, cli, environment, free_port, serve

pytestmark = pytest.mark.e2e
DJANGO_ADMIN = str(BIN / "django-admin")

SETTINGS = """
SECRET_KEY = "django-import-test"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": %r}}
USE_TZ = True
PASSWORD_HASHERS = [
    "djsite.hashers.FastPBKDF2",
    "djsite.hashers.FastBCrypt",
    "django.contrib.auth.hashers.MD5PasswordHasher",
]
"""
HASHERS = """
from django.contrib.auth import hashers

class FastPBKDF2(hashers.PBKDF2PasswordHasher):
    iterations = 1000

class FastBCrypt(hashers.BCryptPasswordHasher):
    rounds = 4
"""
# Users as a Django project makes them: the default hasher, then two older ones; staff and a
# group, which authority keeps no place for; and a hash from a hasher Django no longer has.
CREATE_USERS = """
from django.contrib.auth.models import Group, User
from django.contrib.auth.hashers import make_password

editors = Group.objects.create(name="editors")
pat = User.objects.create_user("pat", "pat@example.com", "pbkdf2 password", is_staff=True)
pat.groups.add(editors)
for name, password, hasher in (("bob", "bcrypt password", "bcrypt"),
                               ("max", "md5 password", "md5")):
    User.objects.create(username=name, password=make_password(password, hasher=hasher))
User.objects.create(username="old", password="crypt$$abN0Kg0Hq9xP6")
"""
PASSWORDS = {"pat": "pbkdf2 password", "bob": "bcrypt password", "max": "md5 password"}


@pytest.fixture(scope="module")
def django_project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A migrated Django project with its users; returns the environment django-admin needs."""
    root = tmp_path_factory.mktemp("django-project")
    (root / "djsite").mkdir()
    (root / "djsite" / "__init__.py").write_text("")
    (root / "djsite" / "settings.py").write_text(SETTINGS % str(root / "db.sqlite3"))
    (root / "djsite" / "hashers.py").write_text(HASHERS)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTHORITY_", "DJANGO_"))}
    env.update(DJANGO_SETTINGS_MODULE="djsite.settings", PYTHONPATH=str(root))
    for command in (["migrate", "-v", "0"], ["shell", "-c", CREATE_USERS]):
        subprocess.run([DJANGO_ADMIN, *command], env=env, check=True, timeout=120)
    return env


@pytest.fixture
def authority_env(database_url: str, tmp_path: Path) -> Iterator[tuple[dict[str, str], str]]:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = environment(database_url, tmp_path / "keys", issuer)
    cli(env, "init")
    yield env, issuer


def _pipe(
    django_env: dict[str, str], dumpdata: list[str], env: dict[str, str]
) -> tuple[str, subprocess.CompletedProcess[str]]:
    """``django-admin dumpdata ... | authority users import -``; returns what dumpdata wrote
    (run again, for the test to read) and the import's outcome."""
    dump = subprocess.run(
        [DJANGO_ADMIN, "dumpdata", *dumpdata],
        env=django_env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    with subprocess.Popen(
        [DJANGO_ADMIN, "dumpdata", *dumpdata], env=django_env, stdout=subprocess.PIPE
    ) as producer:
        done = subprocess.run(
            [AUTHORITY, "users", "import", "-"],
            env=env,
            stdin=producer.stdout,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert producer.returncode == 0
    return dump, done


def test_dumpdata_auth_user_piped_in_keeps_the_passwords_and_names_the_skipped_row(
    django_project: dict[str, str], authority_env: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    env, issuer = authority_env

    dump, done = _pipe(django_project, ["auth.user", "--indent", "2"], env)

    assert done.returncode == 1, done.stderr
    records = json.loads(dump)
    index = next(i for i, r in enumerate(records) if r["fields"]["username"] == "old")
    errors = done.stderr.splitlines()
    assert errors[0].startswith("authority: line ")
    line = int(errors[0].split()[2])
    assert errors[0].startswith(f"authority: line {line} (element [{index}]): unsupported")
    element = dump.splitlines()[line - 1 : line + 8]
    assert element[0].strip() == "{"  # where that element starts
    assert '"username": "old",' in (text.strip() for text in element)
    assert errors[1:] == [
        "authority: warning: not imported, as authority keeps no such field: "
        "groups (1 user), is_staff (1 user)"
    ]
    mapping = [row.split() for row in done.stdout.splitlines()[1:-1]]
    assert sorted((int(pk), name) for pk, name, _ in mapping) == sorted(
        (r["pk"], r["fields"]["username"]) for r in records if r["fields"]["username"] != "old"
    )
    assert done.stdout.splitlines()[-1].startswith("created 3, updated 0, skipped 1 bad row(s)")

    app = cli(env, "clients", "create", "web", "--grant", "password", "--scope", "read")
    port = int(issuer.rsplit(":", 1)[1])
    with serve(env, port, log=tmp_path / "serve.log"):
        for username, password in sorted(PASSWORDS.items()):
            for attempt in ("wrong " + password, password, password):  # then argon2id
                answer = httpx.post(
                    f"{issuer}/token",
                    data={"grant_type": "password", "username": username, "password": attempt},
                    auth=(app["client_id"], app["client_secret"]),
                )
                assert answer.status_code == (400 if attempt.startswith("wrong") else 200)
    users = {u["username"]: u["sub"] for u in cli(env, "users", "list")["users"]}
    assert {name: users[name] for _, name, _ in mapping} == {n: s for _, n, s in mapping}


def test_dumpdata_of_the_auth_app_as_json_lines_names_the_skipped_line(
    django_project: dict[str, str], authority_env: tuple[dict[str, str], str]
) -> None:
    env, _ = authority_env

    dump, done = _pipe(django_project, ["auth", "--format", "jsonl"], env)

    assert done.returncode == 1, done.stderr
    lines = dump.splitlines()
    old = next(n for n, text in enumerate(lines, 1) if '"username": "old"' in text)
    errors = done.stderr.splitlines()
    assert errors[0].startswith(f"authority: line {old}: unsupported password hash")
    others = Counter(json.loads(text)["model"] for text in lines)
    del others["auth.user"]
    assert others == {"auth.permission": 16, "auth.group": 1}  # what dumpdata auth holds
    assert errors[1:] == [
        "authority: ignored 17 row(s) of other models: auth.permission (16 rows), "
        "auth.group (1 row)",
        "authority: warning: not imported, as authority keeps no such field: "
        "groups (1 user), is_staff (1 user)",
    ]
    assert done.stdout.splitlines()[-1].startswith("created 3, updated 0, skipped 1")
