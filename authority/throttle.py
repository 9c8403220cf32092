"""Brute-force protection for password logins: failures counted per username and per client
address, with growing back-off and a temporary lockout shared by every replica.

From outside a locked account looks exactly like a wrong password (same answer, same time).
"""

from __future__ import annotations

from typing import Protocol


class LoginThrottle(Protocol):
    def allowed(self, username: str, ip: str | None, now: int) -> bool:
        """May a login for ``username`` from ``ip`` be tried now?"""

    def failed(self, username: str, ip: str | None, now: int) -> None:
        """Count a failed login."""

    def succeeded(self, username: str, ip: str | None, now: int) -> None:
        """A successful login clears the username's failures."""

    def unlock(self, username: str) -> None:
        """The operator's `authority users unlock`."""


class Unthrottled:
    """No limits (tests of other behaviour, or a deployment that throttles elsewhere)."""

    def allowed(self, username: str, ip: str | None, now: int) -> bool:
        return True

    def failed(self, username: str, ip: str | None, now: int) -> None:
        return None

    def succeeded(self, username: str, ip: str | None, now: int) -> None:
        return None

    def unlock(self, username: str) -> None:
        return None
