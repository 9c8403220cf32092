"""One immutable Settings object, built once from ``AUTHORITY_*`` environment variables."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ALGORITHMS = ("ES256", "RS256", "EdDSA")
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# Seconds a request may wait for the database (AUTHORITY_DATABASE_TIMEOUT).
DATABASE_TIMEOUT = 5


class ConfigError(ValueError):
    """A setting is invalid; the message is one line naming the variable and what is allowed."""


@dataclass(frozen=True)
class Settings:
    issuer: str = "http://localhost:8000"
    database_url: str = "sqlite:///./authority.db"
    database_timeout: int = DATABASE_TIMEOUT
    keys_dir: Path = Path("./keys")
    access_token_alg: str = "ES256"  # noqa: S105 (an algorithm name, not a secret)
    access_token_ttl: int = 900
    refresh_token_ttl: int = 30 * 86400
    session_max_age: int = 90 * 86400
    refresh_reuse_window: int = 10
    jwks_max_age: int = 300
    client_cache_ttl: int = 5
    argon2_time_cost: int = 2
    argon2_memory_cost: int = 19456
    argon2_parallelism: int = 1
    hash_key: bytes | None = field(default=None, repr=False)
    log_level: str = "INFO"
    keys_store: str = "dir"
    keys_passphrase: bytes | None = field(default=None, repr=False)
    key_rotation_days: int = 30
    key_reload_seconds: int = 30
    clock_leeway: int = 60
    # accounts
    email_url: str = field(default="console:", repr=False)
    email_from: str = "authority@localhost"
    public_url: str | None = None  # base of links in emails; the issuer when unset
    registration: str = "closed"
    require_verified_email: bool = False
    password_min_length: int = 10
    verify_email_ttl: int = 86400
    password_reset_ttl: int = 1800
    id_token_alg: str = "RS256"  # noqa: S105 (an algorithm name, not a secret)
    # brute-force protection
    trusted_proxy_header: str | None = None
    login_max_failures: int = 5
    login_max_failures_per_ip: int = 50
    login_lockout: int = 900
    registration_max_per_ip: int = 20  # per hour
    unverified_account_ttl: int = 7 * 86400  # 0: never purge
    redis_url: str | None = field(default=None, repr=False)
    # HTTP limits, per worker (authority.web.server)
    max_header_bytes: int = 16 * 1024
    header_timeout: int = 10
    body_timeout: int = 30
    keepalive_timeout: int = 5
    max_connections: int = 1000

    def __post_init__(self) -> None:
        _check_issuer(self.issuer)
        if self.access_token_alg not in ALGORITHMS:
            raise ConfigError(
                f"AUTHORITY_ACCESS_TOKEN_ALG={self.access_token_alg!r} is not allowed; "
                f"use one of {', '.join(ALGORITHMS)}"
            )
        if not self.database_url.startswith(("sqlite://", "postgresql", "postgres://")):
            raise ConfigError(
                "AUTHORITY_DATABASE_URL must be sqlite:///PATH or "
                "postgresql+psycopg://USER@HOST:PORT/DB"
            )
        if not 1 <= self.database_timeout <= 300:
            raise ConfigError(
                f"AUTHORITY_DATABASE_TIMEOUT={self.database_timeout!r} is out of range; "
                "allowed 1..300 seconds"
            )
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(
                f"AUTHORITY_LOG_LEVEL={self.log_level!r} is not allowed; "
                f"use one of {', '.join(LOG_LEVELS)}"
            )
        if self.registration not in ("closed", "open"):
            raise ConfigError(
                f"AUTHORITY_REGISTRATION={self.registration!r} is not allowed; use closed or open"
            )
        if self.id_token_alg not in ALGORITHMS:
            raise ConfigError(
                f"AUTHORITY_ID_TOKEN_ALG={self.id_token_alg!r} is not allowed; "
                f"use one of {', '.join(ALGORITHMS)}"
            )
        if not self.email_url.startswith(("console:", "file://", "smtp://", "smtps://")):
            raise ConfigError(
                "AUTHORITY_EMAIL_URL must be console:, file:///DIR, smtp://[user:pass@]host:port "
                "or smtps://..."
            )
        if self.keys_store not in ("dir", "database"):
            raise ConfigError(
                f"AUTHORITY_KEYS_STORE={self.keys_store!r} is not allowed; use dir or database"
            )
        if self.keys_store == "database" and not self.keys_passphrase:
            raise ConfigError(
                "AUTHORITY_KEYS_STORE=database needs AUTHORITY_KEYS_PASSPHRASE (keys are "
                "encrypted with it)"
            )
        if self.keys_store == "database" and self.hash_key is None:
            raise ConfigError(
                "AUTHORITY_KEYS_STORE=database needs AUTHORITY_HASH_KEY (64+ hex digits), "
                "since replicas share no key folder"
            )
        if 0 < self.unverified_account_ttl < self.verify_email_ttl:
            raise ConfigError(
                "AUTHORITY_UNVERIFIED_ACCOUNT_TTL must be 0 (never purge) or at least "
                f"AUTHORITY_VERIFY_EMAIL_TTL ({self.verify_email_ttl} s), so no account is "
                "purged while its verification link still works"
            )
        if self.hash_key is not None and len(self.hash_key) < 32:
            raise ConfigError("AUTHORITY_HASH_KEY must hold at least 32 bytes (64 hex digits)")

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        text = {
            "issuer": "AUTHORITY_ISSUER",
            "database_url": "AUTHORITY_DATABASE_URL",
            "access_token_alg": "AUTHORITY_ACCESS_TOKEN_ALG",
            "log_level": "AUTHORITY_LOG_LEVEL",
            "keys_store": "AUTHORITY_KEYS_STORE",
            "email_url": "AUTHORITY_EMAIL_URL",
            "email_from": "AUTHORITY_EMAIL_FROM",
            "public_url": "AUTHORITY_PUBLIC_URL",
            "registration": "AUTHORITY_REGISTRATION",
            "id_token_alg": "AUTHORITY_ID_TOKEN_ALG",
            "trusted_proxy_header": "AUTHORITY_TRUSTED_PROXY_HEADER",
            "redis_url": "AUTHORITY_REDIS_URL",
        }
        for name, var in text.items():
            if env.get(var):
                values[name] = env[var].strip()
        if "log_level" in values:
            values["log_level"] = str(values["log_level"]).upper()
        if "keys_store" in values:
            values["keys_store"] = str(values["keys_store"]).lower()
        if env.get("AUTHORITY_KEYS_DIR"):
            values["keys_dir"] = Path(env["AUTHORITY_KEYS_DIR"])
        durations = {
            "access_token_ttl": ("AUTHORITY_ACCESS_TOKEN_TTL", 60, 86400),
            "refresh_token_ttl": ("AUTHORITY_REFRESH_TOKEN_TTL", 60, 400 * 86400),
            "session_max_age": ("AUTHORITY_SESSION_MAX_AGE", 60, 400 * 86400),
            "refresh_reuse_window": ("AUTHORITY_REFRESH_REUSE_WINDOW", 0, 300),
            "jwks_max_age": ("AUTHORITY_JWKS_MAX_AGE", 0, 86400),
            "client_cache_ttl": ("AUTHORITY_CLIENT_CACHE_TTL", 0, 300),
            "database_timeout": ("AUTHORITY_DATABASE_TIMEOUT", 1, 300),
            "key_reload_seconds": ("AUTHORITY_KEY_RELOAD_SECONDS", 1, 3600),
            "clock_leeway": ("AUTHORITY_CLOCK_LEEWAY", 0, 600),
            "verify_email_ttl": ("AUTHORITY_VERIFY_EMAIL_TTL", 60, 30 * 86400),
            "password_reset_ttl": ("AUTHORITY_PASSWORD_RESET_TTL", 60, 86400),
            "login_lockout": ("AUTHORITY_LOGIN_LOCKOUT", 1, 86400),
            "header_timeout": ("AUTHORITY_HEADER_TIMEOUT", 1, 300),
            "body_timeout": ("AUTHORITY_BODY_TIMEOUT", 1, 600),
            "keepalive_timeout": ("AUTHORITY_KEEPALIVE_TIMEOUT", 1, 3600),
            "unverified_account_ttl": ("AUTHORITY_UNVERIFIED_ACCOUNT_TTL", 0, 400 * 86400),
        }
        for name, (var, low, high) in durations.items():
            if env.get(var):
                values[name] = _duration(var, env[var], low, high)
        integers = {
            "argon2_time_cost": ("AUTHORITY_ARGON2_TIME_COST", 1, 20),
            "argon2_memory_cost": ("AUTHORITY_ARGON2_MEMORY_COST", 8, 4 * 1024 * 1024),
            "argon2_parallelism": ("AUTHORITY_ARGON2_PARALLELISM", 1, 16),
            "key_rotation_days": ("AUTHORITY_KEY_ROTATION_DAYS", 0, 3650),
            "password_min_length": ("AUTHORITY_PASSWORD_MIN_LENGTH", 8, 128),
            "login_max_failures": ("AUTHORITY_LOGIN_MAX_FAILURES", 1, 1000),
            "login_max_failures_per_ip": ("AUTHORITY_LOGIN_MAX_FAILURES_PER_IP", 1, 100000),
            "max_header_bytes": ("AUTHORITY_MAX_HEADER_BYTES", 1024, 1024 * 1024),
            "max_connections": ("AUTHORITY_MAX_CONNECTIONS", 1, 1000000),
            "registration_max_per_ip": ("AUTHORITY_REGISTRATION_MAX_PER_IP", 1, 100000),
        }
        for name, (var, low, high) in integers.items():
            if env.get(var):
                values[name] = _integer(var, env[var], low, high)
        if env.get("AUTHORITY_HASH_KEY"):
            try:
                values["hash_key"] = bytes.fromhex(env["AUTHORITY_HASH_KEY"].strip())
            except ValueError:
                raise ConfigError("AUTHORITY_HASH_KEY must be hex (64+ hex digits)") from None
        if env.get("AUTHORITY_REQUIRE_VERIFIED_EMAIL"):
            values["require_verified_email"] = _boolean(
                "AUTHORITY_REQUIRE_VERIFIED_EMAIL", env["AUTHORITY_REQUIRE_VERIFIED_EMAIL"]
            )
        if env.get("AUTHORITY_KEYS_PASSPHRASE"):
            values["keys_passphrase"] = env["AUTHORITY_KEYS_PASSPHRASE"].encode()
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def _duration(var: str, raw: str, low: int, high: int) -> int:
    match = _DURATION.match(raw)
    if not match:
        raise ConfigError(f"{var}={raw!r} is not a duration; use seconds or N[s|m|h|d], e.g. 15m")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if not low <= seconds <= high:
        raise ConfigError(f"{var}={raw!r} is out of range; allowed {low}..{high} seconds")
    return seconds


def _boolean(var: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{var}={raw!r} is not a boolean; use true or false")


def _integer(var: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{var}={raw!r} is not an integer") from None
    if not low <= value <= high:
        raise ConfigError(f"{var}={raw!r} is out of range; allowed {low}..{high}")
    return value


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_issuer(issuer: str) -> None:
    # RFC 8414 §2: https, no query or fragment. Plain http is allowed for loopback only.
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"AUTHORITY_ISSUER={issuer!r} must be an absolute https URL")
    try:
        port_ok = parts.port != 0
    except ValueError:  # not a number, or out of range
        port_ok = False
    if not port_ok or "@" in parts.netloc or any(c.isspace() for c in issuer):
        # Not echoed: it may hold a password.
        raise ConfigError("AUTHORITY_ISSUER must be a plain URL: scheme://host[:port][/path]")
    if parts.query or parts.fragment:
        raise ConfigError(f"AUTHORITY_ISSUER={issuer!r} must have no query or fragment")
    if issuer.endswith("/"):
        raise ConfigError(f"AUTHORITY_ISSUER={issuer!r} must not end with '/'")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            f"AUTHORITY_ISSUER={issuer!r} uses plain http; only https is allowed "
            "unless the host is loopback (localhost, 127.0.0.1, ::1)"
        )
