"""`authority init`, `authority keys list`, settings errors and the command entry points."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from authority.cli import main
from tests.cli.support import Run, assert_failed

ADMIN_COMMANDS = [
    ("init", "--json"),
    ("clients", "list", "--json"),
    ("users", "list", "--json"),
    ("keys", "list", "--json"),
]


# -- refused -------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", ADMIN_COMMANDS)
def test_a_bad_setting_exits_2_with_one_line_naming_the_variable(
    run_bare: Run, monkeypatch: pytest.MonkeyPatch, keys_dir: Path, argv: tuple[str, ...]
) -> None:
    monkeypatch.setenv("AUTHORITY_ACCESS_TOKEN_ALG", "HS256")

    assert_failed(run_bare(*argv), "AUTHORITY_ACCESS_TOKEN_ALG", "HS256", code=2)
    assert not keys_dir.exists()


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("AUTHORITY_ISSUER", "http://authority.example"),
        ("AUTHORITY_ACCESS_TOKEN_TTL", "soon"),
        ("AUTHORITY_ARGON2_MEMORY_COST", "lots"),
        ("AUTHORITY_LOG_LEVEL", "LOUD"),
        ("AUTHORITY_HASH_KEY", "xyz"),
    ],
)
def test_every_bad_setting_is_one_line_on_stderr(
    run: Run, monkeypatch: pytest.MonkeyPatch, var: str, value: str
) -> None:
    monkeypatch.setenv(var, value)

    assert_failed(run("keys", "list", "--json"), var, code=2)


@pytest.mark.parametrize("argv", [("init", "--json"), ("clients", "list", "--json")])
def test_an_unreachable_database_is_one_line_on_stderr(
    run_bare: Run, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    # Port 1: nothing listens there, so the connection is refused at once.
    monkeypatch.setenv("AUTHORITY_DATABASE_URL", "postgresql://authority@127.0.0.1:1/authority")

    assert_failed(run_bare(*argv), "database error")


def test_init_cannot_create_a_database_in_a_missing_folder(
    run_bare: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-dir" / "authority.db"
    monkeypatch.setenv("AUTHORITY_DATABASE_URL", f"sqlite:///{missing}")

    assert_failed(run_bare("init", "--json"), "database error")


def test_a_database_url_naming_no_installed_driver_exits_2_naming_the_variable(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHORITY_DATABASE_URL", "postgresql+nosuchdriver://x")

    assert_failed(
        run("clients", "list", "--json"), "AUTHORITY_DATABASE_URL", "nosuchdriver", code=2
    )


def test_a_missing_key_file_exits_2_naming_the_key_and_makes_no_new_one(
    run: Run, keys_dir: Path
) -> None:
    keys = run("keys", "list", "--json").json()["keys"]
    active = next(k for k in keys if k["state"] == "active")
    (keys_dir / f"{active['kid']}.pem").unlink()
    files_left = sorted(keys_dir.glob("*.pem"))

    assert_failed(run("init", "--json"), active["kid"], "missing", code=2)
    assert sorted(keys_dir.glob("*.pem")) == files_left


def test_no_command_is_a_usage_error(cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])

    assert exited.value.code == 2
    assert capsys.readouterr().out == ""


# -- init ----------------------------------------------------------------------------------


def test_init_creates_the_hash_key_and_a_signing_key_once(run_bare: Run, keys_dir: Path) -> None:
    run = run_bare
    first = run("init", "--json").json()
    second = run("init", "--json").json()

    assert f"secret hash key in {keys_dir}" in first["created"]
    assert any(item.startswith("ES256 signing key") for item in first["created"])
    assert second == {"created": []}
    assert (keys_dir / "hash.key").exists()
    keys = run("keys", "list", "--json").json()["keys"]
    # ES256 signs access tokens; RS256 signs id_tokens (OIDC Core §15.1 requires it).
    assert sorted(k["alg"] for k in keys if k["state"] == "active") == ["ES256", "RS256"]
    assert {p.stem for p in keys_dir.glob("*.pem")} == {k["kid"] for k in keys}


def test_init_creates_the_schema_of_a_new_database(
    run_bare: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AUTHORITY_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")

    created = run_bare("init", "--json").json()["created"]

    assert created[0] == "database schema"
    assert run_bare("clients", "list", "--json").json() == {"clients": []}


def test_init_for_humans_says_when_nothing_was_needed(run: Run) -> None:
    result = run("init")

    assert (result.code, result.out) == (0, "created: nothing (ready)\n")


# -- keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "RS256", "EdDSA"])
def test_keys_list_gives_the_keys_with_their_state(
    run_bare: Run, monkeypatch: pytest.MonkeyPatch, keys_dir: Path, alg: str
) -> None:
    monkeypatch.setenv("AUTHORITY_ACCESS_TOKEN_ALG", alg)
    monkeypatch.setenv("AUTHORITY_ID_TOKEN_ALG", alg)
    run_bare("init", "--json").json()

    listed = run_bare("keys", "list", "--json").json()

    assert set(listed) == {"keys"}
    keys = listed["keys"]
    assert [k["alg"] for k in keys if k["state"] == "active"] == [alg]
    assert [k["alg"] for k in keys if k["state"] == "next"] == [alg]
    for key in keys:
        assert set(key) >= {"kid", "alg", "state", "created_at"}
        assert "private_key" not in key
        assert "sealed" not in key
        assert isinstance(key["created_at"], int)
        assert (keys_dir / f"{key['kid']}.pem").exists()


# -- entry points --------------------------------------------------------------------------


def test_serve_help_describes_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--help"])

    assert exited.value.code == 0
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--workers", "--access-log"):
        assert option in out


def test_serve_stops_at_a_bad_email_url_in_one_line_without_its_password(
    run_bare: Run, monkeypatch: pytest.MonkeyPatch, keys_dir: Path
) -> None:
    monkeypatch.setenv("AUTHORITY_EMAIL_URL", "smtp://mailer:hunter2-secret@mail.example?tls=1")

    result = run_bare("serve", "--port", "1")

    assert_failed(result, "AUTHORITY_EMAIL_URL: unknown option 'tls'", code=2)
    assert "hunter2" not in result.err
    assert not keys_dir.exists()  # stopped before preparing anything


@pytest.mark.parametrize(
    ("var", "value", "error"),
    [
        (
            "AUTHORITY_CLAIMS_HOOK",
            "tests.no_such_hooks:claims",
            "AUTHORITY_CLAIMS_HOOK='tests.no_such_hooks:claims': no module named "
            "'tests.no_such_hooks' (is it installed, or on PYTHONPATH?)",
        ),
        (
            "AUTHORITY_PUBLIC_SCOPES",
            "read back\\slash",
            "AUTHORITY_PUBLIC_SCOPES: 'back\\\\slash' is not a scope",
        ),
    ],
)
def test_serve_stops_at_a_bad_claims_hook_or_public_scope_in_one_line(
    run_bare: Run, monkeypatch: pytest.MonkeyPatch, keys_dir: Path, var: str, value: str, error: str
) -> None:
    monkeypatch.setenv(var, value)

    result = run_bare("serve", "--port", "1")

    assert_failed(result, error, code=2)
    assert not keys_dir.exists()  # stopped before preparing anything


def test_python_m_authority_help_works(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHORITY_")}

    done = subprocess.run(
        [sys.executable, "-m", "authority", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    for command in ("serve", "init", "clients", "users", "keys"):
        assert command in done.stdout
    assert list(tmp_path.iterdir()) == []  # --help touches no database and no keys
