"""The one SQL implementation of the storage interfaces, for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

from authority.settings import DATABASE_TIMEOUT
from authority.storage.changes import ChangeWatcher
from authority.storage.engine import make_engine
from authority.storage.records import Change
from authority.storage.sql_accounts import AccountsSql
from authority.storage.sql_audit import AuditSql
from authority.storage.sql_browser import BrowserSql
from authority.storage.sql_clients import ClientsSql
from authority.storage.sql_keys import KeysSql
from authority.storage.sql_links import LinksSql
from authority.storage.sql_revocation import DenyListSql
from authority.storage.sql_sessions import SessionsSql
from authority.storage.sql_throttle import ThrottleSql
from authority.storage.sql_users import UsersSql


class SqlStorage(
    ClientsSql,
    UsersSql,
    AccountsSql,
    LinksSql,
    SessionsSql,
    DenyListSql,
    BrowserSql,
    KeysSql,
    ThrottleSql,
    AuditSql,
):
    """Clients, users, link tokens, sessions and their deny-list, browser sign-in, keys,
    login-failure counters and the audit trail on one engine."""

    @classmethod
    def from_url(cls, url: str, timeout: float = DATABASE_TIMEOUT) -> SqlStorage:
        return cls(make_engine(url, timeout))

    def change_watcher(
        self, on_change: Callable[[Change], None], on_resync: Callable[[], None], fallback: str
    ) -> ChangeWatcher:
        """A watcher of the changes other processes make (``authority.storage.changes``)."""
        return ChangeWatcher(self.engine, on_change, on_resync, fallback)
