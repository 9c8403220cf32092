"""Storage: the interfaces the flows need, and one SQL implementation (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from authority.storage.records import (
    PASSWORD_RESET,
    VERIFY_EMAIL,
    AuditQuery,
    AuditRecord,
    AuthorizationCode,
    BrowserSession,
    Change,
    ChangeKind,
    Client,
    Conflict,
    Consent,
    Family,
    IssuedAccess,
    KeyState,
    LinkToken,
    Redemption,
    RedemptionFailure,
    RefreshTokenState,
    Registration,
    Rotation,
    RotationFailure,
    SessionStart,
    SigningKeyInfo,
    UsedToken,
    User,
    username_key,
)

__all__ = [
    "PASSWORD_RESET",
    "VERIFY_EMAIL",
    "AccountStore",
    "AuditQuery",
    "AuditRecord",
    "AuditStore",
    "AuthorizationCode",
    "BrowserSession",
    "BrowserSessionStore",
    "Change",
    "ChangeKind",
    "Client",
    "ClientStore",
    "CodeStore",
    "Conflict",
    "Consent",
    "ConsentStore",
    "Family",
    "IssuedAccess",
    "KeyState",
    "KeyStore",
    "LinkToken",
    "OriginStore",
    "Redemption",
    "RedemptionFailure",
    "RefreshTokenState",
    "Registration",
    "Rotation",
    "RotationFailure",
    "SessionStart",
    "SessionStore",
    "SigningKeyInfo",
    "UsedToken",
    "User",
    "UserStore",
    "username_key",
]


class ClientStore(Protocol):
    def get_client(self, client_id: str) -> Client | None: ...


class OriginStore(Protocol):
    """Which browser origins clients' pages are served from (CORS)."""

    def browser_origins(self) -> list[tuple[str, bool]]: ...


class UserStore(Protocol):
    def get_user_by_username(self, username: str) -> User | None: ...
    def get_user(self, sub: str) -> User | None: ...
    def set_password_hash(self, sub: str, password_hash: str) -> None: ...
    def confirm_sign_in(self, sub: str) -> None: ...


class AccountStore(UserStore, Protocol):
    """What self-service accounts need: registration, link tokens, password writes."""

    def users_with_email(self, email: str) -> list[User]: ...
    def register_user(self, user: User, link: LinkToken | None) -> Registration: ...
    def add_link(self, link: LinkToken) -> None: ...
    def peek_link(self, token_hash: str, purpose: str, now: int) -> str | None: ...
    def verify_email(self, token_hash: str, now: int) -> str | None: ...
    def reset_password(self, token_hash: str, password_hash: str, now: int) -> str | None: ...
    def change_password(
        self, sub: str, password_hash: str, now: int, keep: str | None = None
    ) -> int: ...


class SessionStore(Protocol):
    def start_family(
        self,
        family: Family,
        token_hash: str | None = None,
        token_expires_at: int | None = None,
        access: IssuedAccess | None = None,
    ) -> None: ...
    def rotate_refresh_token(
        self,
        presented_hash: str,
        new_hash: str,
        client_id: str,
        now: int,
        ttl: int,
        access: IssuedAccess | None = None,
    ) -> Rotation: ...
    def replace_successor(
        self,
        presented_hash: str,
        successor_hash: str,
        new_hash: str,
        client_id: str,
        now: int,
        ttl: int,
        access: IssuedAccess | None = None,
    ) -> Family | None: ...
    def revoke_family(self, family_id: str, now: int) -> None: ...
    def inspect_refresh_token(self, token_hash: str) -> RefreshTokenState | None: ...
    def end_sessions(
        self, sub: str, now: int, family_id: str | None = None, keep: str | None = None
    ) -> int: ...
    def list_sessions(self, sub: str, now: int) -> list[Family]: ...
    def deny_access_token(self, jti: str, expires_at: int, now: int) -> None: ...
    def is_access_token_denied(self, jti: str) -> bool: ...


class BrowserSessionStore(Protocol):
    """Single sign-on: who is signed in on the hosted pages, in which browser."""

    def start_browser_session(self, session: BrowserSession, secret_hash: str) -> None: ...
    def find_browser_session(self, secret_hash: str, now: int) -> BrowserSession | None: ...
    def list_browser_sessions(self, sub: str, now: int) -> list[BrowserSession]: ...
    def end_browser_session(self, session_id: str, now: int, sub: str | None = None) -> bool: ...


class CodeStore(Protocol):
    """Redeemed authorization codes (RFC 6749 §4.1.2): single use, and what each started."""

    def redeem_code(
        self,
        code: AuthorizationCode,
        family_id: str,
        now: int,
        start: Callable[[AuthorizationCode, User], SessionStart] | None = None,
    ) -> Redemption: ...
    def redeemed_family(self, code_hash: str) -> str | None: ...


class ConsentStore(Protocol):
    """The scopes each user approved for each third-party client."""

    def get_consent(self, sub: str, client_id: str) -> Consent | None: ...
    def grant_consent(self, consent: Consent) -> None: ...
    def list_consents(self, sub: str) -> list[Consent]: ...
    def withdraw_consent(self, sub: str, client_id: str) -> bool: ...


class KeyStore(Protocol):
    """Signing-key metadata (and, for the database store, the sealed private keys)."""

    def list_signing_keys(self) -> list[SigningKeyInfo]: ...
    def add_signing_key(self, key: SigningKeyInfo) -> None: ...
    def schedule_promotion(self, kid: str, at: int) -> bool: ...
    def swap_signing_keys(
        self,
        retire: str | None,
        promote: str | None,
        new_next: SigningKeyInfo | None,
        now: int,
        removable_at: int,
        revoke: bool = False,
    ) -> bool: ...
    def remove_signing_keys(self, kids: list[str]) -> None: ...
    def delete_signing_key(self, kid: str) -> None: ...


class AuditStore(Protocol):
    """The audit trail: appended to, read a page at a time, purged."""

    def add_audit_events(self, records: Sequence[AuditRecord]) -> None: ...
    def audit_events(
        self,
        query: AuditQuery,
        limit: int,
        newest_first: bool = True,
        after: tuple[float, int] | None = None,
    ) -> list[AuditRecord]: ...
    def audit_event_key(self, event_id: int) -> tuple[float, int] | None: ...
    def purge_audit_events(
        self, before: float, batch: int = 1000, max_batches: int | None = None
    ) -> int: ...
