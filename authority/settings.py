"""One immutable Settings object, built once from ``AUTHORITY_*`` environment variables.

Each variable is defined once, as a field of ``Settings``: its name, how its text is read,
its range or choices, its default and the line that documents it. The environment is read,
and README's table is written, from those fields (``python -m authority.settings --markdown``).
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ALGORITHMS = ("ES256", "RS256", "EdDSA")
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
LOG_FORMATS = ("text", "json")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# RFC 6750 §2.1's b64token, long enough not to be guessed.
_METRICS_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]{16,}=*", re.ASCII)
DAY = 86400
# Seconds a request may wait for the database (AUTHORITY_DATABASE_TIMEOUT).
DATABASE_TIMEOUT = 5


class ConfigError(ValueError):
    """A setting is invalid; the message is one line naming the variable and what is allowed."""


class Kind(Enum):
    """How a variable's text becomes its value."""

    TEXT = "text"  # stripped
    UPPER = "upper"  # stripped, upper case
    LOWER = "lower"  # stripped, lower case
    PATH = "path"
    DURATION = "duration"  # seconds, or N[s|m|h|d]
    INTEGER = "integer"
    BOOLEAN = "boolean"
    HEX = "hex"  # bytes, written in hex
    BYTES = "bytes"  # the text's UTF-8 bytes, as given


TEXT, UPPER, LOWER, PATH, DURATION, INTEGER, BOOLEAN, HEX, BYTES = Kind


@dataclass(frozen=True)
class Spec:
    """One variable: its name, kind, range or choices, default and documentation."""

    name: str  # the field of Settings
    var: str
    kind: Kind
    default: Any
    doc: str  # one line of README's table (Markdown)
    bounds: tuple[int, int] | None = None
    choices: tuple[str, ...] = ()
    shown: str | None = None  # the default as README shows it, when not the value itself
    secret: bool = False  # never in repr

    def parse(self, raw: str) -> object:
        """The value of ``raw``, or ConfigError in one line naming the variable. Choices
        and the rules between variables are checked by Settings itself."""
        if self.kind is Kind.DURATION:
            assert self.bounds is not None
            return _duration(self.var, raw, *self.bounds)
        if self.kind is Kind.INTEGER:
            assert self.bounds is not None
            return _integer(self.var, raw, *self.bounds)
        if self.kind is Kind.BOOLEAN:
            return _boolean(self.var, raw)
        if self.kind is Kind.HEX:
            try:
                return bytes.fromhex(raw.strip())
            except ValueError:
                raise ConfigError(f"{self.var} must be hex (64+ hex digits)") from None
        if self.kind is Kind.BYTES:
            return raw.encode()
        if self.kind is Kind.PATH:
            return Path(raw)
        text = raw.strip()
        if self.kind is Kind.UPPER:
            return text.upper()
        if self.kind is Kind.LOWER:
            return text.lower()
        return text

    def allowed(self) -> str:
        if len(self.choices) == 2:
            return " or ".join(self.choices)
        return "one of " + ", ".join(self.choices)

    def shown_default(self) -> str:
        if self.shown is not None:
            return self.shown
        if self.default is None:
            return "none"
        if isinstance(self.default, bool):
            return f"`{str(self.default).lower()}`"
        if self.kind is Kind.DURATION:
            return f"`{_as_duration(self.default)}`"
        return f"`{self.default}`"


def setting(
    var: str,
    kind: Kind,
    default: object,
    doc: str,
    *,
    bounds: tuple[int, int] | None = None,
    choices: tuple[str, ...] = (),
    shown: str | None = None,
    secret: bool = False,
) -> Any:
    """A field of Settings defined by its variable (see ``Spec``)."""
    spec = Spec("", var, kind, default, doc, bounds, choices, shown, secret)
    return dataclasses.field(default=default, repr=not secret, metadata={"spec": spec})


@dataclass(frozen=True)
class Settings:
    issuer: str = setting(
        "AUTHORITY_ISSUER",
        TEXT,
        "http://localhost:8000",
        "the `iss` of every token; https unless the host is loopback",
        shown="`http://localhost:PORT`",
    )
    database_url: str = setting(
        "AUTHORITY_DATABASE_URL",
        TEXT,
        "sqlite:///./authority.db",
        "or `postgresql+psycopg://user:pass@host:5432/db`",
    )
    database_timeout: int = setting(
        "AUTHORITY_DATABASE_TIMEOUT",
        DURATION,
        DATABASE_TIMEOUT,
        (
            "how long a request may wait for the database (1 s..5 m): past it the request answers "
            "503 `temporarily_unavailable` with `Retry-After`. Also the PostgreSQL "
            "`statement_timeout` (twice it: `idle_in_transaction_session_timeout`, "
            "`tcp_user_timeout`), the connect timeout, half of it the wait for a pooled "
            "connection, and SQLite's busy timeout; options in the URL's own `options=` win"
        ),
        bounds=(1, 300),
    )
    keys_dir: Path = setting(
        "AUTHORITY_KEYS_DIR",
        PATH,
        Path("./keys"),
        "signing keys (PKCS#8 PEM, 0600) and `hash.key`",
        shown="`./keys`",
    )
    access_token_alg: str = setting(
        "AUTHORITY_ACCESS_TOKEN_ALG",
        TEXT,
        "ES256",
        "`ES256`, `RS256` or `EdDSA`",
        choices=ALGORITHMS,
    )
    id_token_alg: str = setting(
        "AUTHORITY_ID_TOKEN_ALG",
        TEXT,
        "RS256",
        (
            "signs the id_token a password login with scope `openid` returns (OIDC requires RS256 "
            "support)"
        ),
        choices=ALGORITHMS,
    )
    access_token_ttl: int = setting(
        "AUTHORITY_ACCESS_TOKEN_TTL",
        DURATION,
        900,
        "seconds or `N[s|m|h|d]`",
        bounds=(60, DAY),
    )
    claims_hook: str | None = setting(
        "AUTHORITY_CLAIMS_HOOK",
        TEXT,
        None,
        (
            "`module:function` that adds claims to users' access tokens (see Access token "
            "claims); imported at start, where a bad one stops the server"
        ),
    )
    refresh_token_ttl: int = setting(
        "AUTHORITY_REFRESH_TOKEN_TTL",
        DURATION,
        30 * DAY,
        "lifetime of one refresh token (each use issues a new one)",
        bounds=(60, 400 * DAY),
    )
    session_max_age: int = setting(
        "AUTHORITY_SESSION_MAX_AGE",
        DURATION,
        90 * DAY,
        "absolute lifetime of a refresh-token family",
        bounds=(60, 400 * DAY),
    )
    refresh_reuse_window: int = setting(
        "AUTHORITY_REFRESH_REUSE_WINDOW",
        DURATION,
        10,
        (
            "for how long after its use a refresh token may be presented again by its own client, "
            "as a retry of a refresh whose answer it never got (see Sessions); `0` makes every "
            "second use a reuse that ends the session; at most `5m`"
        ),
        bounds=(0, 300),
    )
    jwks_max_age: int = setting(
        "AUTHORITY_JWKS_MAX_AGE",
        DURATION,
        300,
        "`Cache-Control: max-age` of the JWKS",
        bounds=(0, DAY),
    )
    client_cache_ttl: int = setting(
        "AUTHORITY_CLIENT_CACHE_TTL",
        DURATION,
        5,
        (
            "how long a process caches a client when no change reaches it: a change made "
            "elsewhere is seen within a second (see Changes reach every server), and within "
            "this bound while change notifications are down"
        ),
        bounds=(0, 300),
    )
    hash_key: bytes | None = setting(
        "AUTHORITY_HASH_KEY",
        HEX,
        None,
        "hex, 32+ bytes: key of the hash that stores client secrets and refresh tokens",
        shown="from `keys/hash.key`",
        secret=True,
    )
    argon2_time_cost: int = setting(
        "AUTHORITY_ARGON2_TIME_COST",
        INTEGER,
        2,
        "argon2id passes (OWASP parameters)",
        bounds=(1, 20),
    )
    argon2_memory_cost: int = setting(
        "AUTHORITY_ARGON2_MEMORY_COST",
        INTEGER,
        19456,
        "argon2id memory in KiB (OWASP parameters)",
        bounds=(8, 4 * 1024 * 1024),
    )
    argon2_parallelism: int = setting(
        "AUTHORITY_ARGON2_PARALLELISM",
        INTEGER,
        1,
        "argon2id lanes (OWASP parameters)",
        bounds=(1, 16),
    )
    keys_store: str = setting(
        "AUTHORITY_KEYS_STORE",
        LOWER,
        "dir",
        (
            "`dir` (PEM files in `AUTHORITY_KEYS_DIR`) or `database` (encrypted, for replicas that "
            "share no disk; needs the passphrase and `AUTHORITY_HASH_KEY`)"
        ),
        choices=("dir", "database"),
    )
    keys_passphrase: bytes | None = setting(
        "AUTHORITY_KEYS_PASSPHRASE",
        BYTES,
        None,
        "encrypts private keys (PKCS#8); a wrong one stops the start",
        secret=True,
    )
    key_rotation_days: int = setting(
        "AUTHORITY_KEY_ROTATION_DAYS",
        INTEGER,
        30,
        "scheduled rotation of the active key; `0` turns it off",
        bounds=(0, 3650),
    )
    key_reload_seconds: int = setting(
        "AUTHORITY_KEY_RELOAD_SECONDS",
        DURATION,
        30,
        (
            "how often each replica re-reads keys, rotates when due and purges; a key change made "
            "elsewhere is seen within a second, and within this bound while change notifications "
            "are down (twice this when its reloads fail: it then stops signing)"
        ),
        bounds=(1, 3600),
        shown="`30`",
    )
    clock_leeway: int = setting(
        "AUTHORITY_CLOCK_LEEWAY",
        DURATION,
        60,
        "clock skew allowed for between servers and verifiers",
        bounds=(0, 600),
        shown="`60`",
    )
    log_level: str = setting(
        "AUTHORITY_LOG_LEVEL",
        UPPER,
        "INFO",
        (
            "`DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`; auth failures log at `WARNING`, "
            "never with a secret"
        ),
        choices=LOG_LEVELS,
    )
    log_format: str = setting(
        "AUTHORITY_LOG_FORMAT",
        LOWER,
        "text",
        (
            "`text` (one human-readable line per record) or `json` (one JSON object per line, "
            "with the request id; see Logs)"
        ),
        choices=LOG_FORMATS,
    )
    email_url: str = setting(
        "AUTHORITY_EMAIL_URL",
        TEXT,
        "console:",
        (
            "where mail goes: `console:` (the log, at INFO: for development only, the links in it "
            "work), `file:///DIR` (one `.eml` per message), `smtp://user:pass@host:port` (STARTTLS "
            "when offered; `?starttls=require\\|off`, `?cafile=PATH`, `?timeout=S`) or "
            "`smtps://...` (TLS from the start); a password is only sent over TLS"
        ),
        secret=True,
    )
    email_from: str = setting(
        "AUTHORITY_EMAIL_FROM",
        TEXT,
        "authority@localhost",
        "the sender of every message",
    )
    public_url: str | None = setting(
        "AUTHORITY_PUBLIC_URL",
        TEXT,
        None,
        "the base URL of links in emails (where browsers reach the server)",
        shown="the issuer",
    )
    registration: str = setting(
        "AUTHORITY_REGISTRATION",
        TEXT,
        "closed",
        (
            "`open` lets anyone register at `POST /accounts/register`; `closed`: operators create "
            "users with the CLI"
        ),
        choices=("closed", "open"),
    )
    admin_api: bool = setting(
        "AUTHORITY_ADMIN_API",
        BOOLEAN,
        False,
        (
            "`on`: the admin HTTP API under `/admin/`, for access tokens with the "
            "`authority:admin` scope (a client made by `authority clients create NAME --admin`); "
            "off, every `/admin/` path is a 404"
        ),
    )
    public_scopes: str = setting(
        "AUTHORITY_PUBLIC_SCOPES",
        TEXT,
        "",
        (
            "space-separated scopes discovery lists in `scopes_supported`, after `openid`, "
            "`profile` and `email`; no client's own scope is listed unless named here"
        ),
        shown="none",
    )
    authorization_code_ttl: int = setting(
        "AUTHORITY_AUTHORIZATION_CODE_TTL",
        DURATION,
        60,
        "lifetime of an authorization code (single use, 10 s..10 m)",
        bounds=(10, 600),
    )
    browser_session_max_age: int = setting(
        "AUTHORITY_BROWSER_SESSION_MAX_AGE",
        DURATION,
        14 * DAY,
        (
            "how long a sign-in on the hosted pages lasts (single sign-on): later `/authorize` "
            "requests from that browser get a code without the login form"
        ),
        bounds=(300, 400 * DAY),
    )
    templates_dir: Path | None = setting(
        "AUTHORITY_TEMPLATES_DIR",
        PATH,
        None,
        (
            "a folder of templates (and `authority.css`) that replace the hosted pages' own, "
            "file by file"
        ),
        shown="the built-in pages",
    )
    require_verified_email: bool = setting(
        "AUTHORITY_REQUIRE_VERIFIED_EMAIL",
        BOOLEAN,
        False,
        "`true`: the password grant refuses an account whose address is not verified yet",
    )
    password_min_length: int = setting(
        "AUTHORITY_PASSWORD_MIN_LENGTH",
        INTEGER,
        10,
        (
            "minimum characters of a new password (8..128); every password also holds at most 1024 "
            "bytes and must pass a strength estimate (zxcvbn, score 3 of 4, on its first 32 "
            "characters, its cost bounded: see `bench/password_policy.py`) that knows the username "
            "and email address"
        ),
        bounds=(8, 128),
    )
    verify_email_ttl: int = setting(
        "AUTHORITY_VERIFY_EMAIL_TTL",
        DURATION,
        DAY,
        "lifetime of an email verification link",
        bounds=(60, 30 * DAY),
    )
    password_reset_ttl: int = setting(
        "AUTHORITY_PASSWORD_RESET_TTL",
        DURATION,
        1800,
        "lifetime of a password reset link (60 s..1 d)",
        bounds=(60, DAY),
    )
    login_max_failures: int = setting(
        "AUTHORITY_LOGIN_MAX_FAILURES",
        INTEGER,
        5,
        (
            "failed logins (or password changes) per username before a lockout; from the third, a "
            "growing back-off. Each attempt is counted before its password is checked, so racing "
            "guesses get no more checks than this. Also the emails sent to one address per "
            "`AUTHORITY_LOGIN_LOCKOUT` (a fixed window from the first; refused requests count "
            "nothing)"
        ),
        bounds=(1, 1000),
    )
    login_max_failures_per_ip: int = setting(
        "AUTHORITY_LOGIN_MAX_FAILURES_PER_IP",
        INTEGER,
        50,
        (
            "failures per client address before it is locked out (a success gives its place back); "
            "also the emails one client address may cause per window"
        ),
        bounds=(1, 100000),
    )
    login_lockout: int = setting(
        "AUTHORITY_LOGIN_LOCKOUT",
        DURATION,
        900,
        "how long a lockout lasts, and the window failures are counted in",
        bounds=(1, DAY),
    )
    registration_max_per_ip: int = setting(
        "AUTHORITY_REGISTRATION_MAX_PER_IP",
        INTEGER,
        20,
        (
            "registrations one client address may attempt per hour (a fixed window from the "
            "first); beyond, `429 too_many_requests`"
        ),
        bounds=(1, 100000),
    )
    unverified_account_ttl: int = setting(
        "AUTHORITY_UNVERIFIED_ACCOUNT_TTL",
        DURATION,
        7 * DAY,
        (
            "a self-registered account whose address was never verified and that never signed in "
            "is deleted this long after it was created (by the server's maintenance and `authority "
            "prune`); `0` keeps them; at least `AUTHORITY_VERIFY_EMAIL_TTL`"
        ),
        bounds=(0, 400 * DAY),
    )
    trusted_proxy_header: str | None = setting(
        "AUTHORITY_TRUSTED_PROXY_HEADER",
        TEXT,
        None,
        (
            "e.g. `X-Forwarded-For`: the client address is its last hop (the one your own proxy "
            "appended); unset, the TCP peer"
        ),
    )
    redis_url: str | None = setting(
        "AUTHORITY_REDIS_URL",
        TEXT,
        None,
        (
            "keep the failure counters in Redis (`pip install 'authority-server[redis]'`) "
            "instead of the database"
        ),
        secret=True,
    )
    max_header_bytes: int = setting(
        "AUTHORITY_MAX_HEADER_BYTES",
        INTEGER,
        16 * 1024,
        (
            "the largest request head (request line and header fields) a client may send "
            "(1024..1048576); a larger one gets 431 and its connection is closed, before much more "
            "than this is read"
        ),
        bounds=(1024, 1024 * 1024),
    )
    header_timeout: int = setting(
        "AUTHORITY_HEADER_TIMEOUT",
        DURATION,
        10,
        (
            "time a client has to send a request's head, counted from the connection's opening "
            "(or, on a kept-alive connection, from the head's first byte); then 408 and the "
            "connection is closed"
        ),
        bounds=(1, 300),
    )
    body_timeout: int = setting(
        "AUTHORITY_BODY_TIMEOUT",
        DURATION,
        30,
        (
            "time a request's body has to arrive after its head; then 408 and the connection is "
            "closed"
        ),
        bounds=(1, 600),
    )
    keepalive_timeout: int = setting(
        "AUTHORITY_KEEPALIVE_TIMEOUT",
        DURATION,
        5,
        (
            "an idle kept-alive connection is closed after this; behind a load balancer, make it "
            "longer than the balancer's own idle timeout"
        ),
        bounds=(1, 3600),
    )
    max_connections: int = setting(
        "AUTHORITY_MAX_CONNECTIONS",
        INTEGER,
        1000,
        (
            "open connections per worker; past it, the connection that has waited longest for a "
            "request is closed (never one whose request is being answered), so slow clients cannot "
            "crowd out `/healthz`. At start the open-file limit is raised to its hard limit, and "
            "this is lowered (with a warning) to fit in it"
        ),
        bounds=(1, 1000000),
    )
    metrics: bool = setting(
        "AUTHORITY_METRICS",
        BOOLEAN,
        False,
        (
            "`on` serves Prometheus metrics at `GET /metrics` (see Metrics), with "
            "`AUTHORITY_METRICS_TOKEN` or on `AUTHORITY_METRICS_PORT`: one of the two is required"
        ),
        shown="`off`",
    )
    metrics_token: str | None = setting(
        "AUTHORITY_METRICS_TOKEN",
        TEXT,
        None,
        (
            "the bearer token a scraper sends for `/metrics` on the server's own port: 16 or more "
            "of `A-Z a-z 0-9 - . _ ~ + /` (`openssl rand -hex 32`); unset, that port has no "
            "`/metrics`"
        ),
        secret=True,
    )
    metrics_port: int | None = setting(
        "AUTHORITY_METRICS_PORT",
        INTEGER,
        None,
        (
            "a port of its own on which `authority serve` answers `/metrics` without a token, "
            "and nothing else"
        ),
        bounds=(1, 65535),
    )
    metrics_host: str = setting(
        "AUTHORITY_METRICS_HOST",
        TEXT,
        "127.0.0.1",
        "the address `AUTHORITY_METRICS_PORT` listens on",
    )

    audit: bool = setting(
        "AUTHORITY_AUDIT",
        BOOLEAN,
        True,
        (
            "`off`: no audit trail is written (see Audit trail); the server writes it a batch "
            "at a time, off the request path"
        ),
        shown="`on`",
    )
    audit_retention_days: int = setting(
        "AUTHORITY_AUDIT_RETENTION_DAYS",
        INTEGER,
        90,
        "audit events older than this many days are purged (by the server and `authority prune`); "
        "`0` keeps them forever",
        bounds=(0, 36500),
    )
    audit_client_credentials: bool = setting(
        "AUTHORITY_AUDIT_CLIENT_CREDENTIALS",
        BOOLEAN,
        False,
        (
            "`on`: the audit trail also keeps a row for each client_credentials token (by default "
            "they are only counted in metrics)"
        ),
        shown="`off`",
    )

    def __post_init__(self) -> None:
        _check_issuer(self.issuer)
        for spec in SPECS.values():
            value = getattr(self, spec.name)
            if spec.choices and value not in spec.choices:
                raise ConfigError(f"{spec.var}={value!r} is not allowed; use {spec.allowed()}")
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
        if not self.email_url.startswith(("console:", "file://", "smtp://", "smtps://")):
            raise ConfigError(
                "AUTHORITY_EMAIL_URL must be console:, file:///DIR, smtp://[user:pass@]host:port "
                "or smtps://..."
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
        if self.metrics_token is not None and not _METRICS_TOKEN.fullmatch(self.metrics_token):
            # Not echoed: it is a secret.
            raise ConfigError(
                "AUTHORITY_METRICS_TOKEN must be 16 or more of A-Z a-z 0-9 - . _ ~ + / "
                "(a bearer token), e.g. from `openssl rand -hex 32`"
            )
        if self.metrics and self.metrics_token is None and self.metrics_port is None:
            raise ConfigError(
                "AUTHORITY_METRICS=on needs AUTHORITY_METRICS_TOKEN (the bearer token scrapers "
                "send) or AUTHORITY_METRICS_PORT (a port of its own for /metrics)"
            )

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Every variable set (an empty one counts as unset), then ``overrides`` on top."""
        env = os.environ if environ is None else environ
        for warning in unknown_variables(env):
            print(f"authority: warning: {warning}", file=sys.stderr)
        values: dict[str, object] = {}
        for spec in SPECS.values():
            raw = env.get(spec.var)
            if raw:
                values[spec.name] = spec.parse(raw)
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


# The spec of every variable, by field name, in README's order.
SPECS: dict[str, Spec] = {
    f.name: dataclasses.replace(f.metadata["spec"], name=f.name)
    for f in dataclasses.fields(Settings)
}


def unknown_variables(env: Mapping[str, str]) -> list[str]:
    """A line for each ``AUTHORITY_*`` variable that is no setting (a typo is otherwise
    silently ignored), naming the closest setting. ``AUTHORITY_TEST_*`` are the test suite's."""
    prefix = "AUTHORITY_"
    known = [spec.var.removeprefix(prefix) for spec in SPECS.values()]
    lines = []
    for name in sorted(env):
        if not name.startswith(prefix) or name.startswith("AUTHORITY_TEST_"):
            continue
        if name.removeprefix(prefix) in known:
            continue
        # Compared without the prefix all share, which would make every name look close.
        close = difflib.get_close_matches(name.removeprefix(prefix), known, n=1, cutoff=0.6)
        hint = f"did you mean {prefix}{close[0]}?" if close else "see `authority --help`"
        lines.append(f"{name} is not a setting and is ignored; {hint}")
    return lines


def markdown_table() -> str:
    """README's table of the variables, as ``python -m authority.settings --markdown`` prints it."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for spec in SPECS.values():
        lines.append(f"| `{spec.var}` | {spec.shown_default()} | {spec.doc} |")
    return "\n".join(lines) + "\n"


def _as_duration(seconds: int) -> str:
    for unit, size in (("d", DAY), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


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


if __name__ == "__main__":
    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m authority.settings --markdown")
    sys.stdout.write(markdown_table())
