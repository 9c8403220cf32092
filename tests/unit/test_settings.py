"""Settings from AUTHORITY_* variables: bad values fail at start with one line naming them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from authority.settings import SPECS, ConfigError, Settings, markdown_table

HASH_KEY_HEX = "ab" * 32
README = Path(__file__).resolve().parents[2] / "README.md"


def _error(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    return str(caught.value)


# -- refused values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("AUTHORITY_ACCESS_TOKEN_ALG", "HS256"),
        ("AUTHORITY_ACCESS_TOKEN_ALG", "none"),
        ("AUTHORITY_ACCESS_TOKEN_ALG", "es256"),
        ("AUTHORITY_DATABASE_URL", "mysql://db/authority"),
        ("AUTHORITY_DATABASE_URL", "authority.db"),
        ("AUTHORITY_ACCESS_TOKEN_TTL", "15x"),
        ("AUTHORITY_ACCESS_TOKEN_TTL", "-5"),
        ("AUTHORITY_ACCESS_TOKEN_TTL", "1.5h"),
        ("AUTHORITY_ACCESS_TOKEN_TTL", "59"),
        ("AUTHORITY_ACCESS_TOKEN_TTL", "2d"),
        ("AUTHORITY_REFRESH_TOKEN_TTL", "401d"),
        ("AUTHORITY_REFRESH_TOKEN_TTL", "forever"),
        ("AUTHORITY_SESSION_MAX_AGE", "30s"),
        ("AUTHORITY_REFRESH_REUSE_WINDOW", "6m"),
        ("AUTHORITY_REFRESH_REUSE_WINDOW", "-1"),
        ("AUTHORITY_JWKS_MAX_AGE", "2d"),
        ("AUTHORITY_CLIENT_CACHE_TTL", "6m"),
        ("AUTHORITY_DATABASE_TIMEOUT", "0"),
        ("AUTHORITY_DATABASE_TIMEOUT", "0.5"),
        ("AUTHORITY_DATABASE_TIMEOUT", "6m"),
        ("AUTHORITY_DATABASE_TIMEOUT", "soon"),
        ("AUTHORITY_ARGON2_TIME_COST", "0"),
        ("AUTHORITY_ARGON2_TIME_COST", "two"),
        ("AUTHORITY_ARGON2_TIME_COST", "21"),
        ("AUTHORITY_ARGON2_MEMORY_COST", "7"),
        ("AUTHORITY_ARGON2_MEMORY_COST", "19MiB"),
        ("AUTHORITY_ARGON2_PARALLELISM", "0"),
        ("AUTHORITY_ARGON2_PARALLELISM", "17"),
        ("AUTHORITY_LOG_LEVEL", "LOUD"),
        ("AUTHORITY_LOG_FORMAT", "logfmt"),
        ("AUTHORITY_HASH_KEY", "not hex"),
        ("AUTHORITY_HASH_KEY", "ab" * 31),
        ("AUTHORITY_KEYS_STORE", "s3"),
        ("AUTHORITY_KEY_RELOAD_SECONDS", "0"),
        ("AUTHORITY_KEY_RELOAD_SECONDS", "2h"),
        ("AUTHORITY_CLOCK_LEEWAY", "11m"),
        ("AUTHORITY_KEY_ROTATION_DAYS", "-1"),
        ("AUTHORITY_KEY_ROTATION_DAYS", "30d"),
        ("AUTHORITY_ISSUER", "authority.example"),
        ("AUTHORITY_ISSUER", "ftp://authority.example"),
    ],
)
def test_refuses_a_bad_value_with_one_line_naming_the_variable(var: str, value: str) -> None:
    message = _error({var: value})

    assert var in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"AUTHORITY_HASH_KEY": HASH_KEY_HEX}, "AUTHORITY_KEYS_PASSPHRASE"),
        ({"AUTHORITY_KEYS_PASSPHRASE": "a long passphrase"}, "AUTHORITY_HASH_KEY"),
    ],
)
def test_keys_in_the_database_need_a_passphrase_and_a_hash_key(
    env: dict[str, str], missing: str
) -> None:
    message = _error({"AUTHORITY_KEYS_STORE": "database", **env})

    assert message.startswith("AUTHORITY_KEYS_STORE=database")
    assert missing in message
    assert "a long passphrase" not in message


def test_a_bad_hash_key_is_not_echoed_in_the_error() -> None:
    secret_ish = "zz" + "ab" * 40

    message = _error({"AUTHORITY_HASH_KEY": secret_ish})

    assert secret_ish not in message


@pytest.mark.parametrize(
    "issuer",
    [
        "http://authority.example",
        "http://10.0.0.1:8000",
        "http://localhost.example.com",
        "http://[::2]:8000",
    ],
)
def test_refuses_a_plain_http_issuer_that_is_not_loopback(issuer: str) -> None:
    message = _error({"AUTHORITY_ISSUER": issuer})

    assert message.startswith("AUTHORITY_ISSUER=")
    assert "https" in message


@pytest.mark.parametrize(
    "issuer",
    [
        "https://authority.example/",
        "https://authority.example/tenant/",
        "https://authority.example?tenant=a",
        "https://authority.example/tenant#top",
    ],
)
def test_refuses_an_issuer_with_trailing_slash_query_or_fragment(issuer: str) -> None:
    message = _error({"AUTHORITY_ISSUER": issuer})

    assert message.startswith("AUTHORITY_ISSUER=")
    assert "\n" not in message


@pytest.mark.parametrize(
    "issuer",
    [
        "https://authority.example:http",
        "https://authority.example:99999",
        "https://authority.example:0",
        "https://user:secret@authority.example",
        "https://authority example",
        "https://authority.example/a path",
    ],
)
def test_refuses_an_issuer_with_a_bad_port_user_info_or_spaces(issuer: str) -> None:
    message = _error({"AUTHORITY_ISSUER": issuer})

    assert message.startswith("AUTHORITY_ISSUER ")
    assert "\n" not in message
    assert "secret" not in message  # a password in the value is never echoed


def test_refuses_a_bad_issuer_passed_directly_too() -> None:
    with pytest.raises(ConfigError, match="AUTHORITY_ISSUER"):
        Settings(issuer="http://authority.example")


def test_refuses_a_database_timeout_out_of_range_passed_directly() -> None:
    with pytest.raises(ConfigError, match="AUTHORITY_DATABASE_TIMEOUT"):
        Settings(database_timeout=0)


def test_refuses_a_short_hash_key_passed_directly() -> None:
    with pytest.raises(ConfigError, match="AUTHORITY_HASH_KEY"):
        Settings(hash_key=b"short")


# -- accepted values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "issuer",
    [
        "http://localhost",
        "http://localhost:8000",
        "http://127.0.0.1:8000",
        "http://[::1]:8000",
        "http://auth.localhost:8000",
        "https://authority.example",
        "https://authority.example/tenant",
        "https://authority.example:8443/tenant",
    ],
)
def test_accepts_https_issuers_and_plain_http_on_loopback(issuer: str) -> None:
    assert Settings.from_env({"AUTHORITY_ISSUER": issuer}).issuer == issuer


def test_defaults_when_nothing_is_set() -> None:
    settings = Settings.from_env({})

    assert settings == Settings()
    assert settings.issuer == "http://localhost:8000"
    assert settings.database_url == "sqlite:///./authority.db"
    assert settings.database_timeout == 5
    assert settings.keys_dir == Path("./keys")
    assert settings.access_token_alg == "ES256"
    assert settings.access_token_ttl == 900
    assert settings.refresh_token_ttl == 30 * 86400
    assert settings.session_max_age == 90 * 86400
    assert settings.refresh_reuse_window == 10
    assert settings.jwks_max_age == 300
    assert settings.client_cache_ttl == 5
    assert (settings.argon2_time_cost, settings.argon2_memory_cost) == (2, 19456)
    assert settings.argon2_parallelism == 1
    assert settings.hash_key is None
    assert settings.log_level == "INFO"
    assert settings.keys_store == "dir"
    assert settings.keys_passphrase is None
    assert settings.key_rotation_days == 30
    assert settings.key_reload_seconds == 30
    assert settings.clock_leeway == 60


def test_empty_variables_count_as_unset() -> None:
    env = {"AUTHORITY_ISSUER": "", "AUTHORITY_ACCESS_TOKEN_TTL": "", "AUTHORITY_HASH_KEY": ""}

    assert Settings.from_env(env) == Settings()


def test_reads_every_variable() -> None:
    env = {
        "AUTHORITY_ISSUER": " https://authority.example ",
        "AUTHORITY_DATABASE_URL": "postgresql+psycopg://authority@db:5432/authority",
        "AUTHORITY_DATABASE_TIMEOUT": "2s",
        "AUTHORITY_KEYS_DIR": "/var/lib/authority/keys",
        "AUTHORITY_ACCESS_TOKEN_ALG": "EdDSA",
        "AUTHORITY_LOG_LEVEL": "debug",
        "AUTHORITY_LOG_FORMAT": " JSON ",
        "AUTHORITY_ACCESS_TOKEN_TTL": "15m",
        "AUTHORITY_REFRESH_TOKEN_TTL": "14d",
        "AUTHORITY_SESSION_MAX_AGE": "2h",
        "AUTHORITY_REFRESH_REUSE_WINDOW": "0",
        "AUTHORITY_JWKS_MAX_AGE": "600",
        "AUTHORITY_CLIENT_CACHE_TTL": "0",
        "AUTHORITY_ARGON2_TIME_COST": "3",
        "AUTHORITY_ARGON2_MEMORY_COST": "65536",
        "AUTHORITY_ARGON2_PARALLELISM": "4",
        "AUTHORITY_HASH_KEY": HASH_KEY_HEX.upper(),
        "AUTHORITY_KEYS_STORE": "database",
        "AUTHORITY_KEYS_PASSPHRASE": "a long passphrase",
        "AUTHORITY_KEY_ROTATION_DAYS": "90",
        "AUTHORITY_KEY_RELOAD_SECONDS": "1m",
        "AUTHORITY_CLOCK_LEEWAY": "5",
    }

    settings = Settings.from_env(env)

    assert settings.issuer == "https://authority.example"
    assert settings.database_url == "postgresql+psycopg://authority@db:5432/authority"
    assert settings.database_timeout == 2
    assert settings.keys_dir == Path("/var/lib/authority/keys")
    assert settings.access_token_alg == "EdDSA"
    assert settings.log_level == "DEBUG"
    assert settings.log_format == "json"
    assert settings.access_token_ttl == 15 * 60
    assert settings.refresh_token_ttl == 14 * 86400
    assert settings.session_max_age == 2 * 3600
    assert settings.refresh_reuse_window == 0
    assert settings.jwks_max_age == 600
    assert settings.client_cache_ttl == 0
    assert settings.argon2_time_cost == 3
    assert settings.argon2_memory_cost == 65536
    assert settings.argon2_parallelism == 4
    assert settings.hash_key == bytes.fromhex(HASH_KEY_HEX)
    assert settings.keys_store == "database"
    assert settings.keys_passphrase == b"a long passphrase"
    assert settings.key_rotation_days == 90
    assert settings.key_reload_seconds == 60
    assert settings.clock_leeway == 5


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [("120", 120), ("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), (" 5 m ", 300)],
)
def test_parses_durations_in_seconds_or_with_a_unit(raw: str, seconds: int) -> None:
    assert Settings.from_env({"AUTHORITY_ACCESS_TOKEN_TTL": raw}).access_token_ttl == seconds


@pytest.mark.parametrize("alg", ["ES256", "RS256", "EdDSA"])
def test_accepts_each_supported_algorithm(alg: str) -> None:
    assert Settings.from_env({"AUTHORITY_ACCESS_TOKEN_ALG": alg}).access_token_alg == alg


@pytest.mark.parametrize(
    "url",
    ["sqlite:///./a.db", "sqlite://", "postgresql://u@h/db", "postgres://u@h/db"],
)
def test_accepts_sqlite_and_postgresql_urls(url: str) -> None:
    assert Settings.from_env({"AUTHORITY_DATABASE_URL": url}).database_url == url


def test_overrides_win_over_the_environment() -> None:
    settings = Settings.from_env({"AUTHORITY_ACCESS_TOKEN_TTL": "15m"}, access_token_ttl=60)

    assert settings.access_token_ttl == 60


def test_repr_masks_the_hash_key_and_the_keys_passphrase() -> None:
    settings = Settings.from_env(
        {"AUTHORITY_HASH_KEY": HASH_KEY_HEX, "AUTHORITY_KEYS_PASSPHRASE": "a long passphrase"}
    )

    text = repr(settings)

    assert settings.hash_key is not None
    assert "a long passphrase" not in text
    assert HASH_KEY_HEX not in text
    assert repr(settings.hash_key) not in text
    assert str(settings.hash_key) not in text


def test_settings_are_immutable_and_replace_revalidates() -> None:
    settings = Settings()

    with pytest.raises(AttributeError):
        settings.issuer = "https://other.example"  # type: ignore[misc]  # what is refused
    assert settings.replace(access_token_ttl=60).access_token_ttl == 60
    with pytest.raises(ConfigError, match="AUTHORITY_ACCESS_TOKEN_ALG"):
        settings.replace(access_token_alg="HS256")


def test_reads_the_registration_cap_and_the_unverified_account_lifetime() -> None:
    settings = Settings.from_env(
        {"AUTHORITY_REGISTRATION_MAX_PER_IP": "5", "AUTHORITY_UNVERIFIED_ACCOUNT_TTL": "30d"}
    )

    assert (settings.registration_max_per_ip, settings.unverified_account_ttl) == (5, 30 * 86400)
    assert (Settings().registration_max_per_ip, Settings().unverified_account_ttl) == (20, 604800)
    assert Settings.from_env({"AUTHORITY_UNVERIFIED_ACCOUNT_TTL": "0"}).unverified_account_ttl == 0


@pytest.mark.parametrize(
    ("env", "var"),
    [
        ({"AUTHORITY_REGISTRATION_MAX_PER_IP": "0"}, "AUTHORITY_REGISTRATION_MAX_PER_IP"),
        ({"AUTHORITY_REGISTRATION_MAX_PER_IP": "many"}, "AUTHORITY_REGISTRATION_MAX_PER_IP"),
        ({"AUTHORITY_UNVERIFIED_ACCOUNT_TTL": "401d"}, "AUTHORITY_UNVERIFIED_ACCOUNT_TTL"),
        # A purge must not take an account whose verification link still works.
        ({"AUTHORITY_UNVERIFIED_ACCOUNT_TTL": "12h"}, "AUTHORITY_VERIFY_EMAIL_TTL"),
    ],
)
def test_refuses_a_bad_registration_setting_in_one_line(env: dict[str, str], var: str) -> None:
    message = _error(env)

    assert var in message
    assert "\n" not in message


# -- the spec and README -------------------------------------------------------------------


def test_readme_documents_every_variable_as_its_spec_does() -> None:
    assert markdown_table() in README.read_text(), (
        "README's table of settings differs from their spec in authority/settings.py: "
        "replace it with the output of `python -m authority.settings --markdown`"
    )


def test_every_variable_is_read_by_the_name_it_always_had() -> None:
    assert {spec.var for spec in SPECS.values()} == {
        f"AUTHORITY_{name}"
        for name in [
            "ACCESS_TOKEN_ALG",
            "ACCESS_TOKEN_TTL",
            "ADMIN_API",
            "ARGON2_MEMORY_COST",
            "ARGON2_PARALLELISM",
            "ARGON2_TIME_COST",
            "AUDIT",
            "AUDIT_CLIENT_CREDENTIALS",
            "AUDIT_RETENTION_DAYS",
            "AUTHORIZATION_CODE_TTL",
            "BODY_TIMEOUT",
            "BROWSER_SESSION_MAX_AGE",
            "CLAIMS_HOOK",
            "CLIENT_CACHE_TTL",
            "CLOCK_LEEWAY",
            "DATABASE_TIMEOUT",
            "DATABASE_URL",
            "EMAIL_FROM",
            "EMAIL_URL",
            "HASH_KEY",
            "HEADER_TIMEOUT",
            "ID_TOKEN_ALG",
            "ISSUER",
            "JWKS_MAX_AGE",
            "KEEPALIVE_TIMEOUT",
            "KEYS_DIR",
            "KEYS_PASSPHRASE",
            "KEYS_STORE",
            "KEY_RELOAD_SECONDS",
            "KEY_ROTATION_DAYS",
            "LOGIN_LOCKOUT",
            "LOGIN_MAX_FAILURES",
            "LOGIN_MAX_FAILURES_PER_IP",
            "LOG_FORMAT",
            "LOG_LEVEL",
            "MAX_CONNECTIONS",
            "MAX_HEADER_BYTES",
            "METRICS",
            "METRICS_HOST",
            "METRICS_PORT",
            "METRICS_TOKEN",
            "PASSWORD_MIN_LENGTH",
            "PASSWORD_RESET_TTL",
            "PUBLIC_SCOPES",
            "PUBLIC_URL",
            "REDIS_URL",
            "REFRESH_REUSE_WINDOW",
            "REFRESH_TOKEN_TTL",
            "REGISTRATION",
            "REGISTRATION_MAX_PER_IP",
            "REQUIRE_VERIFIED_EMAIL",
            "TEMPLATES_DIR",
            "SESSION_MAX_AGE",
            "TRUSTED_PROXY_HEADER",
            "UNVERIFIED_ACCOUNT_TTL",
            "VERIFY_EMAIL_TTL",
        ]
    }


def test_the_markdown_table_is_printed_by_the_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "authority.settings", "--markdown"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == markdown_table()
